package reset

import (
	"context"
	"fmt"
	"time"
)

// CodeCheck proves a code without setting a password yet: the first of
// the two steps (ResetWithGrant is the second).
type CodeCheck struct {
	Account Lookup
	Code    Code
	IP      string
	// Device is the caller's User-Agent, as in CodeReset.
	Device string
	// AcceptLanguage is the request's header, as in CodeReset.
	AcceptLanguage string
}

// Grant is what a proved code is exchanged for: a token that can set the
// account's password once, within TTL.
type Grant struct {
	Token Token
	TTL   time.Duration
}

// VerifyCode checks the code exactly as ResetWithCode does (the same
// proveCode: the guess counted before it is compared, against the same
// MaxAttempts of the code and the same daily budgets of the name and the
// account), and, if it is right, exchanges it for a grant, for a UI that
// asks for the new password only once the code has proved right.
//
// The grant is 32 bytes from crypto/rand, stored only as its SHA-256
// (hashGrant), like a link that is never mailed, and it holds what the
// code held: the account, the session_version and address the code was
// issued under, and the owner's latest-record rule. One transaction
// deletes the code and makes the grant the account's latest record in its
// place, so the code is used up here: it cannot be used again, by this
// route or the one-step ones, and a racing right guess gets nothing. The
// grant dies when it is used (ResetWithGrant), after Settings.GrantTTL,
// when any route changes the password (session_version), when the
// account's address changes, and when a newer code or link is issued
// (only the latest works).
//
// An unknown account, a decoy's code, is answered by proveCode exactly as
// a wrong code is.
//
// Errors: *LimitError with ErrRateLimited (per-IP) or ErrTooManyAttempts,
// ErrNoCode, ErrExpired, ErrInvalidCode, ErrDeviceMismatch,
// ErrUnknownAccount or ErrInactiveAccount (revealed only), or a wrapped
// dependency failure.
func (s *Service) VerifyCode(ctx context.Context, req CodeCheck) (Grant, error) {
	now := s.now()
	if err := s.store.CountRequest(ctx, PurposeVerify, req.IP, s.ipLimit(), now); err != nil {
		refused(ctx, err)
		return Grant{}, fmt.Errorf("count request: %w", err)
	}
	rec, acct, _, err := s.proveCode(ctx, req.Account, req.Code, req.Device, req.AcceptLanguage, now)
	if err != nil {
		return Grant{}, err
	}
	token, err := newToken(s.random)
	if err != nil {
		return Grant{}, err
	}
	grant := LinkRecord{
		Hash:           hashGrant(token),
		Subject:        rec.Subject,
		AccountID:      acct.ID,
		SessionVersion: rec.SessionVersion,
		ExpiresAt:      now.Add(s.settings.GrantTTL),
		Owner:          rec.Owner,
		Recipient:      linkRecipient(token, acct.Email),
	}
	// Conditioned as a reset's transaction is on the code: the very code
	// just checked, unexpired, unclaimed, its owner's latest. The right
	// guess is given back to the failure budgets there, as a reset does.
	if err := s.store.ExchangeCode(ctx, rec, grant, s.guessLimit(), now); err != nil {
		return Grant{}, fmt.Errorf("exchange code: %w", err)
	}
	return Grant{Token: token, TTL: s.settings.GrantTTL}, nil
}
