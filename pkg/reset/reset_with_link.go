package reset

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// LinkReset proves a link token and sets a new password.
type LinkReset struct {
	Token       Token
	NewPassword string
	IP          string
	// AcceptLanguage is the request's header: the notice's language when
	// the account names none.
	AcceptLanguage string
}

// ResetWithLink checks the token and, if it names a live link, consumes it
// and sets the new password in one transaction, then ends the account's
// sessions (Deps.Sessions) and mails a notice.
//
// A token carries 256 random bits, so it cannot be guessed and there is no
// per-link attempt counter; the per-IP limit still applies. The same
// request repeated within two minutes of its success (same token, same new
// password) is answered with that success again (retry.go).
//
// Errors: *LimitError with ErrRateLimited (per-IP), ErrInvalidToken (unknown,
// expired, used or superseded), a *password.Rejection, or a wrapped
// dependency failure.
func (s *Service) ResetWithLink(ctx context.Context, req LinkReset) error {
	now := s.now()
	if err := s.store.CountRequest(ctx, PurposeVerify, req.IP, s.ipLimit(), now); err != nil {
		refused(ctx, err)
		return fmt.Errorf("count request: %w", err)
	}
	if err := s.policy.Check(req.NewPassword); err != nil {
		return passwordRefused(ctx, err)
	}
	return s.resetWithToken(ctx, req.Token, hashToken(req.Token), req.NewPassword, channelLink, req.AcceptLanguage, now)
}

// resetWithToken is the part a link and a grant share: find the token's
// record under h, or recognise a repeat of a reset it made, check the new
// password, and complete, then count it under channel, end the sessions
// and mail the notice.
func (s *Service) resetWithToken(ctx context.Context, token Token, h TokenHash, newPassword, channel, acceptLanguage string, now time.Time) error {
	rec, acct, err := s.findLink(ctx, token, h, now)
	// A token stored nowhere may have just been used: a client repeating
	// a reset that worked is told so again (retry.go).
	if errors.Is(err, errNoSuchToken) && s.repeatsTokenReset(ctx, token, h, newPassword, now) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.checkNewPassword(ctx, acct, newPassword); err != nil {
		return err
	}
	// Conditioned on the link still existing and unexpired, being the
	// account's latest secret, and the session_version and email it was
	// issued under; in one transaction, or in two phases (complete.go).
	err = s.complete(ctx, acct, rec.SessionVersion, newPassword, completion{
		consume: func(ctx context.Context, newHash string, done Receipt) error {
			return s.store.ConsumeLink(ctx, rec, acct, newHash, done, now)
		},
		claim:   func(ctx context.Context) error { return s.store.ClaimLink(ctx, rec, now, claimFor) },
		finish:  func(ctx context.Context, done Receipt) error { return s.store.FinishLink(ctx, rec, done) },
		release: func(ctx context.Context) error { return s.store.ReleaseLink(ctx, rec) },
		receipt: tokenReceipt(token, h, newPassword, now),
		invalid: ErrInvalidToken,
	})
	if err != nil {
		return fmt.Errorf("consume link: %w", err)
	}
	completed(ctx, channel)
	s.endSessions(ctx, acct)
	s.notify(ctx, acct, acceptLanguage)
	return nil
}

// errNoSuchToken is findLink's answer for a token no record is stored
// under: unknown, or used. It is ErrInvalidToken to every caller.
var errNoSuchToken = fmt.Errorf("%w: none stored", ErrInvalidToken)

// findLink reads the link or grant stored under h, the hash of token, and
// its account, and refuses with ErrInvalidToken a token that is
// malformed, unknown, expired, a decoy, of an account gone or inactive,
// or issued before the account's password last changed. Whether it is
// still the account's latest link is left to the caller: the consuming
// transaction checks it in its condition.
func (s *Service) findLink(ctx context.Context, token Token, h TokenHash, now time.Time) (LinkRecord, Account, error) {
	if !validToken(token) {
		return LinkRecord{}, Account{}, ErrInvalidToken
	}
	rec, err := s.store.FindLink(ctx, h, now)
	if errors.Is(err, ErrExpired) {
		return LinkRecord{}, Account{}, ErrInvalidToken
	}
	if errors.Is(err, ErrInvalidToken) {
		return LinkRecord{}, Account{}, errNoSuchToken
	}
	if err != nil {
		return LinkRecord{}, Account{}, fmt.Errorf("find link: %w", err)
	}
	if rec.AccountID == "" { // the decoy of an unknown account
		return LinkRecord{}, Account{}, ErrInvalidToken
	}
	acct, err := s.accounts.AccountByID(ctx, rec.AccountID)
	if errors.Is(err, ErrUnknownAccount) {
		return LinkRecord{}, Account{}, ErrInvalidToken
	}
	if err != nil {
		return LinkRecord{}, Account{}, fmt.Errorf("link account: %w", err)
	}
	// A password change by any route bumps session_version, which kills
	// every link issued before it; a link works only while the account
	// keeps the address it was mailed to.
	if !acct.Active || acct.SessionVersion != rec.SessionVersion || linkRecipient(token, acct.Email) != rec.Recipient {
		return LinkRecord{}, Account{}, ErrInvalidToken
	}
	return rec, acct, nil
}
