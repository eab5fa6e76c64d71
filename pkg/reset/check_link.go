package reset

import (
	"context"
	"fmt"
)

// CheckLink reports whether token names a live link: stored, unexpired, of
// an account that is still active and still has the address it was mailed
// to, the account's latest code or link, and issued
// under the account's current session_version. It is what the reset page
// asks before it shows the form.
//
// It only reads. Opening a link is not a guess and must not cost one: mail
// scanners and link previews open links before their owner does, so
// CheckLink writes nothing, counts nothing and consumes nothing. The
// answer can be stale by the time the form is sent; ResetWithLink decides
// again, in its transaction's conditions.
//
// Errors: ErrInvalidToken (malformed, unknown, expired, used, superseded,
// or its account inactive or its password changed since), or a wrapped
// dependency failure.
func (s *Service) CheckLink(ctx context.Context, token Token) error {
	rec, _, err := s.findLink(ctx, token, hashToken(token), s.now())
	if err != nil {
		return err
	}
	latest, err := s.store.IsLatest(ctx, rec.Owner, string(rec.Hash))
	if err != nil {
		return fmt.Errorf("check latest link: %w", err)
	}
	if !latest {
		return ErrInvalidToken
	}
	return nil
}
