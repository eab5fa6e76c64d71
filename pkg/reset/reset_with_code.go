package reset

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// CodeReset proves a code and sets a new password.
type CodeReset struct {
	Account     Lookup
	Code        Code
	NewPassword string
	IP          string
	// Device is the caller's User-Agent; it must match the one the code
	// was requested from when the code is bound to a device.
	Device string
	// AcceptLanguage is the request's header: the language of the mails
	// the reset sends when the account names none.
	AcceptLanguage string
}

// ResetWithCode checks the code and, if it is right, consumes it and sets
// the new password in one transaction, then ends the account's sessions
// (Deps.Sessions) and mails a notice.
//
// Every guess is counted before it is compared, by a conditional write that
// refuses once MaxAttempts guesses were made at this code or
// MaxFailuresPerDay at this name in the last 24 hours, so parallel guesses
// get exactly that many comparisons; a second write counts it against the
// account's own budget across its names, where a spent budget is never
// shown, only obeyed: no guess can win. A wrong guess costs three writes
// and no password hash.
//
// A code is found under the name it was requested by, and nothing about
// the account is read until the code has proved right, so a guess by user
// name tells nothing about the email behind it, or whether there is one.
//
// The same request repeated within two minutes of its success (same code,
// same new password) is answered with that success again, and changes
// nothing (retry.go).
//
// Errors: *LimitError with ErrRateLimited (per-IP) or ErrTooManyAttempts,
// ErrNoCode, ErrExpired, ErrInvalidCode, ErrDeviceMismatch (a right code
// from another device), a *password.Rejection, ErrUnknownAccount or
// ErrInactiveAccount (revealed only), or a wrapped dependency failure.
func (s *Service) ResetWithCode(ctx context.Context, req CodeReset) error {
	now := s.now()
	if err := s.store.CountRequest(ctx, PurposeVerify, req.IP, s.ipLimit(), now); err != nil {
		refused(ctx, err)
		return fmt.Errorf("count request: %w", err)
	}
	// Rules that need no account come before the guess is counted, so a
	// user who picked a weak password does not spend an attempt on it.
	if err := s.policy.Check(req.NewPassword, req.Account.Email.String(), req.Account.Username); err != nil {
		return passwordRefused(ctx, err)
	}
	rec, acct, key, err := s.proveCode(ctx, req.Account, req.Code, req.Device, req.AcceptLanguage, now)
	// A name with no code may have just used it: a client repeating a
	// reset that worked is told so again (retry.go).
	if errors.Is(err, ErrNoCode) && s.repeatsCodeReset(ctx, req.Account, req.Code, req.NewPassword, now) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, acct, req.NewPassword); err != nil {
		return err
	}
	// One transaction deletes the code and sets the password, conditioned
	// on the code being the one just checked and still its account's
	// latest secret, and on the account's session_version and email being
	// unchanged since: of many racing right guesses one wins, and a
	// password or email changed meanwhile kills the code. Or two phases
	// that promise the same (complete.go).
	err = s.complete(ctx, acct, rec.SessionVersion, req.NewPassword, completion{
		consume: func(ctx context.Context, newHash string, done Receipt) error {
			return s.store.ConsumeCode(ctx, rec, acct, newHash, done, s.guessLimit(), now)
		},
		claim: func(ctx context.Context) error { return s.store.ClaimCode(ctx, rec, now, claimFor) },
		finish: func(ctx context.Context, done Receipt) error {
			return s.store.FinishCode(ctx, rec, done, s.guessLimit())
		},
		release: func(ctx context.Context) error { return s.store.ReleaseCode(ctx, rec) },
		receipt: codeReceipt(key, rec, req.Code, req.NewPassword, now),
		invalid: ErrInvalidCode,
	})
	if err != nil {
		return fmt.Errorf("consume code: %w", err)
	}
	completed(ctx, channelCode)
	s.endSessions(ctx, acct)
	s.notify(ctx, acct, req.AcceptLanguage)
	return nil
}

// proveCode counts a guess at the code of the name l and compares it: the
// one way a code is proved, for the one-step reset and for VerifyCode
// alike, so a guess at either costs the same place in the same limits. It
// returns the code's record, its account, still active and unchanged
// since the code was issued, and the key the code was hashed with.
//
// Errors: as ResetWithCode's, but for the per-IP limit and the password.
func (s *Service) proveCode(ctx context.Context, l Lookup, code Code, device, acceptLanguage string, now time.Time) (CodeRecord, Account, Key, error) {
	if s.settings.RevealUnknownAccounts {
		acct, known, err := s.find(ctx, l)
		if err != nil {
			return CodeRecord{}, Account{}, Key{}, err
		}
		if err := s.revealed(known, acct); err != nil {
			return CodeRecord{}, Account{}, Key{}, err
		}
	}
	subjectKey, err := s.keys.Subject(ctx)
	if err != nil {
		return CodeRecord{}, Account{}, Key{}, fmt.Errorf("subject key: %w", err)
	}
	subject := subject(subjectKey, l)
	rec, err := s.store.CountGuess(ctx, subject, s.guessLimit(), now)
	if err != nil {
		refused(ctx, err)
		return CodeRecord{}, Account{}, Key{}, fmt.Errorf("count guess: %w", err)
	}
	if rec.Owner == "" { // written before owners existed: it can never be the latest
		rec.Owner = mac(subjectKey, "decoy", subject)
	}
	counted, spent, err := s.store.CountOwnerFailure(ctx, rec.Owner, s.guessLimit().Failures, now)
	if err != nil {
		return CodeRecord{}, Account{}, Key{}, fmt.Errorf("count account failure: %w", err)
	}
	if spent {
		s.tellOwner(ctx, rec, acceptLanguage, now)
	}

	key, err := s.keys.ByID(ctx, rec.KeyID)
	if err != nil {
		return CodeRecord{}, Account{}, Key{}, fmt.Errorf("code key %q: %w", rec.KeyID, err)
	}
	// hmac.Equal takes the same time wherever the two differ, so timing
	// tells a guesser nothing about how close the guess was. A decoy, or a
	// guess past the account's spent budget, never wins.
	if !hmac.Equal([]byte(hashCode(key, subject, rec.ID, code)), []byte(rec.Hash)) || rec.AccountID == "" || !counted {
		s.wrongGuess(ctx, rec, counted && spent)
		return CodeRecord{}, Account{}, Key{}, ErrInvalidCode
	}
	// Only someone holding the right code learns that it is bound to
	// another device; the guess stays counted.
	if rec.Device != "" && rec.Device != deviceHash(device) {
		s.wrongGuess(ctx, rec, counted && spent)
		return CodeRecord{}, Account{}, Key{}, ErrDeviceMismatch
	}
	acct, err := s.accounts.AccountByID(ctx, rec.AccountID)
	if errors.Is(err, ErrUnknownAccount) {
		return CodeRecord{}, Account{}, Key{}, ErrInvalidCode
	}
	if err != nil {
		return CodeRecord{}, Account{}, Key{}, fmt.Errorf("code account: %w", err)
	}
	// The account must still be allowed in, its password unchanged since
	// the code was issued, and its address still the one the code was
	// mailed to. The transaction checks the first two again; checking them
	// here spares a refused reset the breach check and the hashing.
	if !acct.Active || acct.SessionVersion != rec.SessionVersion || codeRecipient(subjectKey, acct.Email) != rec.Recipient {
		return CodeRecord{}, Account{}, Key{}, ErrInvalidCode
	}
	return rec, acct, key, nil
}

// tellOwner mails the account's owner, once per failure window, that its
// code budget is spent: someone tried many codes, nothing changed, and a
// reset link still works. A decoy's turn spends the time a mail would.
func (s *Service) tellOwner(ctx context.Context, rec CodeRecord, acceptLanguage string, now time.Time) {
	tell, err := s.store.ClaimNotice(ctx, rec.Owner, failureWindow, now)
	if err != nil {
		s.log.WarnContext(ctx, "claim guessing notice", "error", err)
		return
	}
	if !tell {
		return
	}
	// A decoy reads the users table too, for an id no account has, so
	// the two take the same calls.
	id := rec.AccountID
	if id == "" {
		id = rec.Owner
	}
	acct, err := s.accounts.AccountByID(ctx, id)
	if rec.AccountID == "" {
		s.waitLikeMail(ctx)
		return
	}
	if err != nil {
		s.log.WarnContext(ctx, "guessing notice: read account", "error", err)
		return
	}
	if !acct.Active { // disabled since its code was issued: it gets no mail
		return
	}
	if err := s.sendTimed(func() error { return s.mailer.SendGuessingNotice(ctx, recipientOf(acct, acceptLanguage)) }); err != nil {
		s.log.ErrorContext(ctx, "send guessing notice", "error", err)
		return
	}
	s.log.InfoContext(ctx, "account failure budget spent; owner told", "account", acct.ID)
}

// checkNewPassword applies the rules that need the account and asks
// Breaches when there is one. The flows call it only after the code or
// link proved right, so a wrong guess never makes the outbound call.
func (s *Service) checkNewPassword(ctx context.Context, acct Account, plain string) error {
	if err := s.policy.Check(plain, acct.Email, acct.Username); err != nil {
		return passwordRefused(ctx, err)
	}
	if s.breaches != nil {
		found, err := s.breaches.Breached(ctx, plain)
		if err != nil {
			// Fail open: the breach service being down or slow must not
			// stop every reset (the local policy, common passwords
			// included, has already passed). The error holds no secret.
			s.log.WarnContext(ctx, "breached-password check failed; password allowed", "account", acct.ID, "error", err)
			breachCheckFailed(ctx)
		} else if found {
			return passwordRefused(ctx, &password.Rejection{Reason: password.ReasonBreached, Rule: password.RuleBreached})
		}
	}
	if acct.PasswordHash == "" {
		// A directory that never reveals hashes (Cognito) keeps its own
		// password history, if any.
		return nil
	}
	if err := s.policy.CheckNotCurrent(plain, acct.PasswordHash); err != nil {
		var r *password.Rejection
		if errors.As(err, &r) {
			return passwordRefused(ctx, err)
		}
		// A stored hash in a format we cannot read (an app's own scheme)
		// must not block every reset of the account.
		s.log.WarnContext(ctx, "compare with current password", "account", acct.ID, "error", err)
	}
	return nil
}

// endSessionsTimeout bounds ending the sessions, so that a slow sessions
// table cannot run the function into its 10-second timeout and turn a
// committed reset into a failed answer.
const endSessionsTimeout = 3 * time.Second

// endSessions ends the account's sessions, where the app has a sessions
// store (Deps.Sessions), before the notice mail: whoever held a session
// should lose it as soon as the password they may have taken is gone. The
// password has changed by the time it runs, so a failure is logged and
// counted, not returned: answering 500 would tell the user a reset failed
// that did not, and the session_version bump, in the password's
// transaction, still ends every session of an app that compares it. The
// account id, no secret, is logged so that an operator can end the
// sessions by hand; the error names no email, code or token.
func (s *Service) endSessions(ctx context.Context, acct Account) {
	if s.sessions == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, endSessionsTimeout)
	defer cancel()
	if err := s.sessions.EndSessions(ctx, acct.ID); err != nil {
		s.log.ErrorContext(ctx, "end sessions after reset; the password is changed", "account", acct.ID, "error", err)
		sessionsNotEnded(ctx)
	}
}

// notify mails the "your password was changed" notice. The password has
// changed by the time it runs, so a failed mail is logged, not returned:
// answering 500 would tell the user a reset failed that did not.
func (s *Service) notify(ctx context.Context, acct Account, acceptLanguage string) {
	if err := s.mailer.SendPasswordChanged(ctx, recipientOf(acct, acceptLanguage), s.now()); err != nil {
		s.log.ErrorContext(ctx, "send password-changed mail", "error", err)
	}
}
