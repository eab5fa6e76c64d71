package reset

import (
	"context"
	"fmt"
)

// GrantReset sets a new password with a grant from VerifyCode: the second
// of the two steps.
type GrantReset struct {
	Grant       Token
	NewPassword string
	IP          string
	// AcceptLanguage is the request's header: the notice's language when
	// the account has none.
	AcceptLanguage string
}

// ResetWithGrant sets the new password with a grant, as ResetWithLink
// does with a link token (a grant is kept as a link that was never
// mailed, under its own hash): one transaction deletes the grant and sets
// the password, conditioned on the grant existing, unexpired, being the
// account's latest record and the account's session_version and address
// being the ones its code was issued under; or two phases that promise
// the same (complete.go). Of any number of racing uses one wins; the
// others, and any later one, are refused.
//
// A new password the policy refuses does not use the grant: the user may
// try another with the same grant until it expires. The same request
// repeated within two minutes of its success is answered with that
// success again (retry.go).
//
// Errors: *LimitError with ErrRateLimited (per-IP), ErrInvalidToken
// (malformed, unknown, expired, used, superseded, or the password changed
// since), a *password.Rejection, or a wrapped dependency failure.
func (s *Service) ResetWithGrant(ctx context.Context, req GrantReset) error {
	now := s.now()
	if err := s.store.CountRequest(ctx, PurposeVerify, req.IP, s.ipLimit(), now); err != nil {
		refused(ctx, err)
		return fmt.Errorf("count request: %w", err)
	}
	if err := s.policy.Check(req.NewPassword); err != nil {
		return passwordRefused(ctx, err)
	}
	return s.resetWithToken(ctx, req.Grant, hashGrant(req.Grant), req.NewPassword, channelGrant, req.AcceptLanguage, now)
}
