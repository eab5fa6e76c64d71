package reset

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// How a right code or link changes the password.
//
// Where the accounts are the Store's own DynamoDB table, one transaction
// consumes the code or link and sets the password (Store.ConsumeCode,
// ConsumeLink): of any number of racing right guesses one wins, and a
// password or email changed meanwhile refuses it.
//
// A directory that cannot join that transaction (a Cognito user pool, a
// team's hook) sets the password itself (Passwords), and the reset
// completes in two phases that keep the same promises:
//
//  1. claim: a conditional write marks the code or link as being used,
//     for claimFor. Only the live, latest, unclaimed one can be claimed,
//     so of racing right guesses exactly one goes on; the others are
//     answered as a used code is.
//  2. set: the directory sets the password, on condition that the account
//     is still at the version read when the code or link was issued.
//  3. finish: the code or link is deleted.
//
// What each way of stopping leaves behind:
//
//   - stopped before the claim: nothing has changed.
//   - stopped after the claim, before the password is set: the password is
//     unchanged; the code or link is claimed until claimFor has passed,
//     then works again, the same one.
//   - the directory refuses (its own password policy) or fails: the claim
//     is released at once, so the user can try again with the same code or
//     link; if the release fails too, the claim runs out as above.
//   - the account changed since the code or link was issued: it is deleted
//     (finished) and the answer is the invalid one.
//   - stopped after the password is set, before the finish: the password is
//     changed for good. The claimed code or link can be claimed again once
//     claimFor has passed, but setting the password then fails on the
//     version (the set just moved it), so it is finished and refused: a
//     code never works behind a changed password.
//   - finished: done, and the receipt that answers a repeat of the request
//     (retry.go) is written with the finish; a finish that fails leaves
//     none, and a repeat is refused as a used code or link is.

// Passwords sets an account's password in a directory that cannot join
// the Store's transaction. Its SetPassword changes the password only if
// the account is still at version (as read when the code or link was
// issued): ErrAccountChanged when it is not. It returns a
// *password.Rejection when the directory's own policy refuses the
// password. hash gives the new password's hash, for a directory that
// stores hashes; one that takes the password itself (Cognito, to AWS)
// never calls it.
type Passwords interface {
	SetPassword(ctx context.Context, acct Account, version int64, plain string, hash func() (string, error)) error
}

// ErrAccountChanged is a Passwords' refusal: the account's password or
// address changed after the code or link was issued. No flow returns it:
// the code or link dies and the flow answers it as invalid.
var ErrAccountChanged = errors.New("account changed since the code or link was issued")

// claimFor is how long a claim holds a code or link: longer than any
// function can run (10 s), so a claim ends only by its release, its finish,
// or, after a crash, by running out.
const claimFor = 30 * time.Second

// completion is the Store's part of completing one code or link reset.
type completion struct {
	// consume deletes the code or link, sets the password and stores the
	// receipt in one transaction (the Directory is the Store's table).
	consume func(ctx context.Context, newHash string, done Receipt) error
	// claim, finish and release are the two-phase way (Passwords); finish
	// stores done unless it is the zero Receipt.
	claim, release func(ctx context.Context) error
	finish         func(ctx context.Context, done Receipt) error
	// receipt is what a success leaves for a repeat of it (retry.go).
	receipt Receipt
	// invalid is the flow's answer for a code or link that cannot be used.
	invalid error
}

// complete changes acct's password to plain, the new password already
// checked (checkNewPassword), through the Store's transaction or in two
// phases.
func (s *Service) complete(ctx context.Context, acct Account, version int64, plain string, c completion) error {
	if s.passwords == nil {
		newHash, err := s.hasher.Hash(plain)
		if err != nil {
			return fmt.Errorf("hash password: %w", err)
		}
		return c.consume(ctx, newHash, c.receipt)
	}
	if err := c.claim(ctx); err != nil {
		return err
	}
	err := s.passwords.SetPassword(ctx, acct, version, plain, func() (string, error) { return s.hasher.Hash(plain) })
	var rejected *password.Rejection
	switch {
	case err == nil:
		if ferr := c.finish(ctx, c.receipt); ferr != nil {
			// The password is changed; the claimed code can never set it
			// again (the version moved), so this is only housekeeping,
			// but for a repeat of this request, which is refused.
			s.log.WarnContext(ctx, "finish a used code or link", "error", ferr)
		}
		return nil
	case errors.Is(err, ErrAccountChanged):
		// No receipt: nothing succeeded that a repeat could be told of.
		if ferr := c.finish(ctx, Receipt{}); ferr != nil {
			s.log.WarnContext(ctx, "finish a code or link of a changed account", "error", ferr)
		}
		return c.invalid
	case errors.As(err, &rejected):
		s.releaseClaim(ctx, c)
		return passwordRefused(ctx, err)
	default:
		s.releaseClaim(ctx, c)
		return fmt.Errorf("set password: %w", err)
	}
}

// releaseClaim lets the claimed code or link be used again; if that fails,
// the claim runs out by itself (claimFor).
func (s *Service) releaseClaim(ctx context.Context, c completion) {
	ctx, cancel := withdrawContext(ctx)
	defer cancel()
	if err := c.release(ctx); err != nil {
		s.log.WarnContext(ctx, "release a claimed code or link", "error", err)
	}
}
