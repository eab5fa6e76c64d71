// Package cognito keeps passreset's accounts in an Amazon Cognito user pool:
// Cognito stays the user store and passreset replaces its forgot-password
// flow. Directory finds the pool's users by email, user name and id, sets
// a user's password and signs the user out everywhere.
//
// Four calls of the Cognito user pools API do all of it: ListUsers and
// AdminGetUser to find, AdminGetUser and AdminSetUserPassword to set,
// AdminUserGlobalSignOut to end sessions. Each function is granted, on the
// one pool, only those of them it calls (template.yaml).
package cognito

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// UserPoolAPI is the part of the Cognito user pools client Directory calls.
type UserPoolAPI interface {
	ListUsers(ctx context.Context, in *cognitoidentityprovider.ListUsersInput, opts ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.ListUsersOutput, error)
	AdminGetUser(ctx context.Context, in *cognitoidentityprovider.AdminGetUserInput, opts ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminGetUserOutput, error)
	AdminSetUserPassword(ctx context.Context, in *cognitoidentityprovider.AdminSetUserPasswordInput, opts ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminSetUserPasswordOutput, error)
	AdminUserGlobalSignOut(ctx context.Context, in *cognitoidentityprovider.AdminUserGlobalSignOutInput, opts ...func(*cognitoidentityprovider.Options)) (*cognitoidentityprovider.AdminUserGlobalSignOutOutput, error)
}

// Directory is a Cognito user pool seen as passreset's accounts. It
// implements reset.Directory, reset.Passwords and reset.Sessions: Cognito
// cannot join the tokens table's transaction, so resets over it complete
// in two phases (pkg/reset/complete.go).
//
// An Account from it reads:
//
//   - ID and Username: the Cognito user name, as the pool returns it (not
//     the name asked for, which may be an alias). Not the immutable sub:
//     AdminGetUser, AdminSetUserPassword and AdminUserGlobalSignOut all
//     take the user name, and a sub would cost a ListUsers on every use.
//     A user name can be given again after its user is deleted; the new
//     user's SessionVersion differs, so a code or link issued to the old
//     one still dies.
//   - Email: the email attribute as Cognito holds it, the only address
//     mail goes to.
//   - PasswordHash: always "". Cognito never reveals a password or its
//     hash, so the rule that a new password differs from the current one
//     cannot be checked here (password.Policy.CheckNotCurrent passes "");
//     a pool's password history setting, when on, enforces it in Cognito
//     (see SetPassword).
//   - SessionVersion: UserLastModifiedDate in Unix nanoseconds. Cognito
//     has no password version, but it stamps a user whenever it changes
//     the user: AdminSetUserPassword, ChangePassword and
//     ConfirmForgotPassword set a password and move the stamp, so a value
//     read when a code is issued and compared when it is used is stale
//     after a password change by any route. Its limits: it moves on every
//     other change to the user too (an attribute edit, a disable and
//     enable, an app's trigger writing a custom attribute at sign-in),
//     which kills outstanding codes more often than needed, a stricter
//     rule that is acceptable; and two changes inside the stamp's
//     resolution (fractions of a second in Cognito's answers, a whole
//     second in cognito-local's) leave it equal. AWS documents the stamp
//     only as "when the item was modified"; that a password change moves
//     it is what cognito-local does and what this package assumes of
//     Cognito.
//   - Active: see active.
type Directory struct {
	client UserPoolAPI
	poolID string
}

var (
	_ reset.Directory = (*Directory)(nil)
	_ reset.Passwords = (*Directory)(nil)
	_ reset.Sessions  = (*Directory)(nil)
)

// New returns the Directory of the user pool poolID over client.
func New(client UserPoolAPI, poolID string) *Directory {
	return &Directory{client: client, poolID: poolID}
}

// RuleProvider is the password.Rejection Rule of a password the user
// pool's own policy or history refused.
const RuleProvider = "Provider"

// The Rejection reasons of a password Cognito refused, in the words of the
// contract's other reasons. Cognito's own message (which rule, say "must
// have symbol characters") is not passed on: its wording is Cognito's and
// may change, and nothing from an AWS error reaches a response.
const (
	reasonPoolPolicy  = "Password does not meet the account's password requirements."
	reasonPoolHistory = "Password was used before on this account. Choose a different one."
)

// maxMatchesNeeded is how many users an email lookup reads: two tell one
// from several.
const maxMatchesNeeded = 2

// AccountByEmail finds the user whose email attribute is email, lower-cased
// first: reset.ErrUnknownAccount when there is none, and
// reset.ErrAmbiguousAccount when several users have it (a pool that does
// not keep emails unique, which must not pick one).
//
// The address is matched exactly as lower-cased, so a user stored with
// capitals in its email is found only if the pool's search ignores case:
// AWS's developer guide says its searches do, cognito-local's does not.
// An address holding a double quote or a backslash is refused with
// reset.ErrInvalidEmail before any call: neither can be in an address
// reset.ParseEmail accepts, and without them the filter's value needs no
// escaping, whose rules AWS documents only for the quote.
func (d *Directory) AccountByEmail(ctx context.Context, email string) (reset.Account, error) {
	email = strings.ToLower(email)
	if strings.ContainsAny(email, `"\`) {
		return reset.Account{}, fmt.Errorf("cognito: email for a filter: %w", reset.ErrInvalidEmail)
	}
	in := &cognitoidentityprovider.ListUsersInput{
		UserPoolId: aws.String(d.poolID),
		Filter:     aws.String(`email = "` + email + `"`),
		Limit:      aws.Int32(maxMatchesNeeded),
	}
	var users []types.UserType
	// A filtered page may hold fewer users than match, with a token for
	// more: the pages are followed until two are found or none is left.
	for {
		out, err := d.client.ListUsers(ctx, in)
		if err != nil {
			return reset.Account{}, callError("list users by email", err)
		}
		users = append(users, out.Users...)
		if len(users) >= maxMatchesNeeded || aws.ToString(out.PaginationToken) == "" {
			break
		}
		in.PaginationToken = out.PaginationToken
	}
	switch len(users) {
	case 0:
		return reset.Account{}, reset.ErrUnknownAccount
	case 1:
		u := users[0]
		return account(aws.ToString(u.Username), u.Attributes, u.Enabled, u.UserStatus, u.UserLastModifiedDate)
	default:
		return reset.Account{}, reset.ErrAmbiguousAccount
	}
}

// AccountByUsername finds the user by user name, or by any alias the pool
// lets AdminGetUser take (a preferred_username, say): reset.ErrUnknownAccount
// when there is none. Whether case matters is the pool's setting.
func (d *Directory) AccountByUsername(ctx context.Context, username string) (reset.Account, error) {
	return d.getUser(ctx, "get user by user name", username)
}

// AccountByID finds the user whose Cognito user name is id, as Account.ID
// holds it: reset.ErrUnknownAccount when there is none (deleted since).
func (d *Directory) AccountByID(ctx context.Context, id string) (reset.Account, error) {
	return d.getUser(ctx, "get user by id", id)
}

func (d *Directory) getUser(ctx context.Context, op, username string) (reset.Account, error) {
	out, err := d.client.AdminGetUser(ctx, &cognitoidentityprovider.AdminGetUserInput{
		UserPoolId: aws.String(d.poolID),
		Username:   aws.String(username),
	})
	if _, ok := errors.AsType[*types.UserNotFoundException](err); ok {
		return reset.Account{}, reset.ErrUnknownAccount
	}
	if err != nil {
		return reset.Account{}, callError(op, err)
	}
	return account(aws.ToString(out.Username), out.UserAttributes, out.Enabled, out.UserStatus, out.UserLastModifiedDate)
}

// account makes the Account of a user as AdminGetUser or ListUsers
// describe it.
func account(username string, attrs []types.AttributeType, enabled bool, status types.UserStatusType, modified *time.Time) (reset.Account, error) {
	// Without the stamp every version would read 0 and a password changed
	// elsewhere would go unseen: refuse rather than compare nothing.
	if modified == nil {
		return reset.Account{}, errors.New("cognito: user has no UserLastModifiedDate")
	}
	email, verified := attribute(attrs, "email"), attribute(attrs, "email_verified")
	return reset.Account{
		ID:       username,
		Email:    email,
		Username: username,
		// Cognito's standard attribute for the user's language (a BCP 47
		// tag, as OpenID Connect's locale claim): the mails' language.
		Language:       attribute(attrs, "locale"),
		SessionVersion: modified.UnixNano(),
		Active:         active(enabled, email, verified, status),
	}, nil
}

// active reports whether a user may reset its password here: enabled, with
// an email Cognito marks verified (mail goes only to a proven address),
// and in a status whose password a reset is for:
//
//   - CONFIRMED: the ordinary user.
//   - RESET_REQUIRED: an administrator asked the user to reset, which is
//     what this service is for.
//
// Every other status is inactive, answered like an unknown account:
// UNCONFIRMED (sign-up not finished), FORCE_CHANGE_PASSWORD (invited with
// a temporary password and never signed in: Cognito's own ForgotPassword
// refuses these too, leaving them to the administrator's invitation, and
// passreset opens no door Cognito keeps shut), EXTERNAL_PROVIDER (signs in
// elsewhere, has no pool password), and the retired ARCHIVED, COMPROMISED
// and UNKNOWN.
func active(enabled bool, email, verified string, status types.UserStatusType) bool {
	if !enabled || email == "" || verified != "true" {
		return false
	}
	switch status {
	case types.UserStatusTypeConfirmed, types.UserStatusTypeResetRequired:
		return true
	}
	return false
}

// attribute returns the value of the attribute name, or "".
func attribute(attrs []types.AttributeType, name string) string {
	for _, a := range attrs {
		if aws.ToString(a.Name) == name {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// SetPassword makes plain acct's permanent password with
// AdminSetUserPassword, if the user is still at version (its
// SessionVersion when the code or link was issued), still active and at
// acct's email: reset.ErrAccountChanged when it is not, or when the user
// was deleted since. It implements reset.Passwords. Cognito takes the
// password itself, never a hash, and keeps its own: hash is never called,
// and with this back-end, unlike the others, the plain password leaves
// the function, to AWS.
//
// Cognito has no conditional set (no condition, no expected version on
// AdminSetUserPassword), so the version is read with AdminGetUser first,
// after the flow has claimed the code or link: that read sees any change
// up to the claim. What is left open is the one round trip between the
// read and the set. A password changed by another route inside it (the
// user's own ChangePassword, an administrator) is overwritten by this
// reset; a change that lands before the read kills the code as the
// contract says. The window cannot be closed without a conditional write
// Cognito does not offer, and it is acceptable: the reset is made by
// whoever proved the mailbox a moment ago, the change it overwrites was
// concurrent with it, not before it, and the mailbox gets the
// password-changed notice either way. The rule that matters, that a code
// or link still lying around after a password change is dead, holds.
//
// A password the pool's policy (length, composition) or its password
// history refuses is a *password.Rejection with Rule RuleProvider, which
// the flows answer as the contract's policy rejection without using up
// the code or link. Other errors are returned wrapped.
func (d *Directory) SetPassword(ctx context.Context, acct reset.Account, version int64, plain string, _ func() (string, error)) error {
	current, err := d.getUser(ctx, "get user before setting its password", acct.ID)
	if errors.Is(err, reset.ErrUnknownAccount) {
		// Deleted since: the code or link dies, as for any change.
		return reset.ErrAccountChanged
	}
	if err != nil {
		return err
	}
	// The read that checks the version also shows the user as it is
	// now: one disabled or moved to another address since (inside the
	// stamp's resolution, so the version did not move) is not the
	// account the code or link was issued for either.
	if current.SessionVersion != version || !current.Active || current.Email != acct.Email {
		return reset.ErrAccountChanged
	}
	_, err = d.client.AdminSetUserPassword(ctx, &cognitoidentityprovider.AdminSetUserPasswordInput{
		UserPoolId: aws.String(d.poolID),
		Username:   aws.String(acct.ID),
		Password:   aws.String(plain),
		// Permanent: the user signs in with it, not with a temporary
		// password to change at the next sign-in (FORCE_CHANGE_PASSWORD).
		Permanent: true,
	})
	if _, ok := errors.AsType[*types.InvalidPasswordException](err); ok {
		return &password.Rejection{Reason: reasonPoolPolicy, Rule: RuleProvider}
	}
	if _, ok := errors.AsType[*types.PasswordHistoryPolicyViolationException](err); ok {
		return &password.Rejection{Reason: reasonPoolHistory, Rule: RuleProvider}
	}
	if _, ok := errors.AsType[*types.UserNotFoundException](err); ok {
		// Deleted between the read and the set.
		return reset.ErrAccountChanged
	}
	if err != nil {
		return callError("set password", err)
	}
	return nil
}

// EndSessions signs the user accountID out of every device with
// AdminUserGlobalSignOut: Cognito revokes its refresh tokens, and its
// access and ID tokens stop working with Cognito, though an app that
// checks them only offline accepts them until they expire. A user deleted
// since has no sessions left, which is no error.
func (d *Directory) EndSessions(ctx context.Context, accountID string) error {
	_, err := d.client.AdminUserGlobalSignOut(ctx, &cognitoidentityprovider.AdminUserGlobalSignOutInput{
		UserPoolId: aws.String(d.poolID),
		Username:   aws.String(accountID),
	})
	if _, ok := errors.AsType[*types.UserNotFoundException](err); ok {
		return nil
	}
	if err != nil {
		return callError("sign out", err)
	}
	return nil
}
