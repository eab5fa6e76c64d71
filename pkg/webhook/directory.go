package webhook

import (
	"context"
	"errors"
	"fmt"

	"github.com/passreset/passreset/pkg/reset"
)

// Directory is a team's hook as the flows' account directory
// (USERS_BACKEND=webhook): it finds accounts, sets their passwords and ends
// their sessions through the Client's three calls. The hook cannot join the
// tokens table's transaction, so resets over it complete in two phases
// (reset.Passwords; pkg/reset/complete.go), on the account's version.
type Directory struct {
	client *Client
}

var (
	_ reset.Directory = (*Directory)(nil)
	_ reset.Passwords = (*Directory)(nil)
	_ reset.Sessions  = (*Directory)(nil)
)

// NewDirectory returns the Directory over c.
func NewDirectory(c *Client) *Directory { return &Directory{client: c} }

// AccountByEmail finds the account with the address. It returns
// reset.ErrUnknownAccount for none, reset.ErrAmbiguousAccount for several,
// or the hook's failure.
func (d *Directory) AccountByEmail(ctx context.Context, email string) (reset.Account, error) {
	a, err := d.client.AccountByEmail(ctx, email)
	return account(a, err, "by email")
}

// AccountByUsername finds the account with the user name; errors as
// AccountByEmail.
func (d *Directory) AccountByUsername(ctx context.Context, username string) (reset.Account, error) {
	a, err := d.client.AccountByUsername(ctx, username)
	return account(a, err, "by user name")
}

// AccountByID finds the account a code or link names, with its password
// hash (the flows refuse the current password as the new one); errors as
// AccountByEmail.
func (d *Directory) AccountByID(ctx context.Context, id string) (reset.Account, error) {
	a, err := d.client.AccountByID(ctx, id)
	return account(a, err, "by id")
}

// account maps a lookup's answer to the flows'. The hook's version is the
// account's session version: it moves with every change of the password or
// the account by any route, which is what the flows compare at completion.
func account(a Account, err error, by string) (reset.Account, error) {
	switch {
	case errors.Is(err, ErrAmbiguous):
		return reset.Account{}, reset.ErrAmbiguousAccount
	case err != nil:
		// Never the value looked up: it is an address or a user name.
		return reset.Account{}, fmt.Errorf("find account %s: %w", by, err)
	case a.ID == "":
		return reset.Account{}, reset.ErrUnknownAccount
	}
	return reset.Account{
		ID:             a.ID,
		Email:          a.Email,
		Username:       a.Username,
		PasswordHash:   a.PasswordHash, // the Client keeps it for the lookup by id only
		SessionVersion: a.Version,
		// An unverified or disabled account gets no mail and is answered
		// like an unknown one.
		Active:   a.Verified && a.Enabled,
		Language: a.Locale,
	}, nil
}

// SetPassword sends the new password's hash, never the password itself,
// to be set if the account is still at version. It returns
// reset.ErrAccountChanged when the hook answers that the version moved,
// or the hook's failure.
func (d *Directory) SetPassword(ctx context.Context, acct reset.Account, version int64, _ string, hash func() (string, error)) error {
	h, err := hash()
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	// The new version is not kept: the next reset reads it afresh.
	if _, err := d.client.SetPassword(ctx, acct.ID, h, version); err != nil {
		if errors.Is(err, ErrVersionMoved) {
			return reset.ErrAccountChanged
		}
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// EndSessions ends every session of the account through the hook.
func (d *Directory) EndSessions(ctx context.Context, accountID string) error {
	if err := d.client.EndSessions(ctx, accountID); err != nil {
		return fmt.Errorf("end sessions: %w", err)
	}
	return nil
}
