package reset

import (
	"context"
	"errors"
	"fmt"
)

// LinkReset proves a link token and sets a new password.
type LinkReset struct {
	Token       Token
	NewPassword string
	IP          string
}

// ResetWithLink checks the token and, if it names a live link, consumes it
// and sets the new password in one transaction, then mails a notice.
//
// A token carries 256 random bits, so it cannot be guessed and there is no
// per-link attempt counter; the per-IP limit still applies.
//
// Errors: *LimitError with ErrRateLimited (per-IP), ErrInvalidToken (unknown,
// expired, used or superseded), a *password.Rejection, or a wrapped
// dependency failure.
func (s *Service) ResetWithLink(ctx context.Context, req LinkReset) error {
	now := s.now()
	if err := s.store.CountRequest(ctx, PurposeVerify, req.IP, s.ipLimit(), now); err != nil {
		return fmt.Errorf("count request: %w", err)
	}
	if err := s.policy.Check(req.NewPassword); err != nil {
		return err
	}
	if !validToken(req.Token) {
		return ErrInvalidToken
	}
	rec, err := s.store.FindLink(ctx, hashToken(req.Token), now)
	if errors.Is(err, ErrExpired) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("find link: %w", err)
	}
	if rec.AccountID == "" { // the decoy of an unknown account
		return ErrInvalidToken
	}
	acct, err := s.store.AccountByID(ctx, rec.AccountID)
	if errors.Is(err, ErrUnknownAccount) {
		return ErrInvalidToken
	}
	if err != nil {
		return fmt.Errorf("link account: %w", err)
	}
	if !acct.Active {
		return ErrInvalidToken
	}
	newHash, err := s.newPasswordHash(ctx, acct, req.NewPassword)
	if err != nil {
		return err
	}
	// Conditioned on the link still existing and unexpired, being the
	// account's latest, and the session_version it was issued under.
	if err := s.store.ConsumeLink(ctx, rec, acct, newHash, now); err != nil {
		return fmt.Errorf("consume link: %w", err)
	}
	s.notify(ctx, acct)
	return nil
}
