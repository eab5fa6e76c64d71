package reset

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"

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
}

// ResetWithCode checks the code and, if it is right, consumes it and sets
// the new password in one transaction, then mails a notice.
//
// Every guess is counted before it is compared, by a conditional write that
// refuses once MaxAttempts guesses were made at this code or
// MaxFailuresPerDay at this account, so parallel guesses get exactly that
// many comparisons. A wrong guess costs two writes and no password hash.
//
// Errors: *LimitError with ErrRateLimited (per-IP) or ErrTooManyAttempts,
// ErrNoCode, ErrExpired, ErrInvalidCode, ErrDeviceMismatch, a
// *password.Rejection, ErrUnknownAccount or ErrInactiveAccount (revealed
// only), or a wrapped dependency failure.
func (s *Service) ResetWithCode(ctx context.Context, req CodeReset) error {
	now := s.now()
	if err := s.store.CountRequest(ctx, PurposeVerify, req.IP, s.ipLimit(), now); err != nil {
		return fmt.Errorf("count request: %w", err)
	}
	// Rules that need no account come before the guess is counted, so a
	// user who picked a weak password does not spend an attempt on it.
	if err := s.policy.Check(req.NewPassword, req.Account.Email, req.Account.Username); err != nil {
		return err
	}

	var acct Account
	known := false
	// A code is found by a keyed hash of the email alone, so a wrong guess
	// by email never reads the users table. A user name has to be looked
	// up first, and so does an account whose absence is to be revealed.
	if req.Account.Email == "" || s.settings.RevealUnknownAccounts {
		var err error
		if acct, known, err = s.find(ctx, req.Account); err != nil {
			return err
		}
		if err := s.revealed(known, acct); err != nil {
			return err
		}
	}
	subject, err := s.subject(ctx, acct, known, req.Account)
	if err != nil {
		return err
	}
	rec, err := s.store.CountGuess(ctx, subject, s.guessLimit(), now)
	if err != nil {
		return fmt.Errorf("count guess: %w", err)
	}

	if rec.Device != "" && rec.Device != deviceHash(req.Device) {
		return ErrDeviceMismatch
	}
	key, err := s.keys.ByID(ctx, rec.KeyID)
	if err != nil {
		return fmt.Errorf("code key %q: %w", rec.KeyID, err)
	}
	// hmac.Equal takes the same time wherever the two differ, so timing
	// tells a guesser nothing about how close the guess was.
	if !hmac.Equal([]byte(hashCode(key, subject, rec.ID, req.Code)), []byte(rec.Hash)) || rec.AccountID == "" {
		return ErrInvalidCode
	}

	if !known {
		if acct, known, err = s.find(ctx, req.Account); err != nil {
			return err
		}
	}
	// The account must still be the one the code was mailed to, and
	// still allowed in.
	if !known || acct.ID != rec.AccountID || !acct.Active {
		return ErrInvalidCode
	}
	newHash, err := s.newPasswordHash(ctx, acct, req.NewPassword)
	if err != nil {
		return err
	}
	// One transaction deletes the code and sets the password, conditioned
	// on the code being the one just checked and the account's
	// session_version unchanged since it was issued: of many racing right
	// guesses one wins, and a password changed meanwhile kills the code.
	if err := s.store.ConsumeCode(ctx, rec, acct, newHash, now); err != nil {
		return fmt.Errorf("consume code: %w", err)
	}
	s.notify(ctx, acct)
	return nil
}

// newPasswordHash applies the rules that need the account, asks Breaches
// when there is one, then hashes. The flows call it only after the code or
// link proved right, so a wrong guess never makes the outbound call.
func (s *Service) newPasswordHash(ctx context.Context, acct Account, plain string) (string, error) {
	if err := s.policy.Check(plain, acct.Email, acct.Username); err != nil {
		return "", err
	}
	if s.breaches != nil {
		found, err := s.breaches.Breached(ctx, plain)
		if err != nil {
			// Fail open: the breach service being down or slow must not
			// stop every reset (the local policy, common passwords
			// included, has already passed). The error holds no secret.
			s.log.WarnContext(ctx, "breached-password check failed; password allowed", "account", acct.ID, "error", err)
		} else if found {
			return "", &password.Rejection{Reason: password.ReasonBreached}
		}
	}
	if err := s.policy.CheckNotCurrent(plain, acct.PasswordHash); err != nil {
		var rejected *password.Rejection
		if errors.As(err, &rejected) {
			return "", err
		}
		// A stored hash in a format we cannot read (an app's own scheme)
		// must not block every reset of the account.
		s.log.Warn("compare with current password", "account", acct.ID, "error", err)
	}
	h, err := s.hasher.Hash(plain)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

// notify mails the "your password was changed" notice. The password has
// changed by the time it runs, so a failed mail is logged, not returned:
// answering 500 would tell the user a reset failed that did not.
func (s *Service) notify(ctx context.Context, acct Account) {
	if err := s.mailer.SendPasswordChanged(ctx, acct.Email, s.now()); err != nil {
		s.log.ErrorContext(ctx, "send password-changed mail", "error", err)
	}
}
