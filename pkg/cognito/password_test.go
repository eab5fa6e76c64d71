package cognito_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/passreset/passreset/pkg/cognito"
	"github.com/passreset/passreset/pkg/reset"
)

// fakePool answers AdminGetUser with one user (or an error) and records
// the passwords AdminSetUserPassword was asked to set. It covers the
// version check's decisions; cognito_test.go covers the calls on
// cognito-local.
type fakePool struct {
	modified time.Time
	email    string // "" for ada@example.com
	disabled bool
	getErr   error
	setErr   error
	gets     int
	sets     []string
}

func (f *fakePool) AdminGetUser(_ context.Context, in *cip.AdminGetUserInput, _ ...func(*cip.Options)) (*cip.AdminGetUserOutput, error) {
	f.gets++
	if f.getErr != nil {
		return nil, f.getErr
	}
	email := f.email
	if email == "" {
		email = "ada@example.com"
	}
	return &cip.AdminGetUserOutput{
		Username: in.Username,
		Enabled:  !f.disabled, UserStatus: types.UserStatusTypeConfirmed,
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
		UserLastModifiedDate: aws.Time(f.modified),
	}, nil
}

func (f *fakePool) AdminSetUserPassword(_ context.Context, in *cip.AdminSetUserPasswordInput, _ ...func(*cip.Options)) (*cip.AdminSetUserPasswordOutput, error) {
	if f.setErr != nil {
		return nil, f.setErr
	}
	f.sets = append(f.sets, aws.ToString(in.Password))
	return &cip.AdminSetUserPasswordOutput{}, nil
}

func (f *fakePool) ListUsers(context.Context, *cip.ListUsersInput, ...func(*cip.Options)) (*cip.ListUsersOutput, error) {
	return nil, errors.New("fakePool: ListUsers not expected")
}

func (f *fakePool) AdminUserGlobalSignOut(context.Context, *cip.AdminUserGlobalSignOutInput, ...func(*cip.Options)) (*cip.AdminUserGlobalSignOutOutput, error) {
	return nil, errors.New("fakePool: AdminUserGlobalSignOut not expected")
}

func TestSetPasswordVersion(t *testing.T) {
	issuedAt := time.Date(2026, 5, 1, 12, 0, 0, 123_000_000, time.UTC)
	acct := reset.Account{ID: "ada", Email: "ada@example.com", Username: "ada", SessionVersion: issuedAt.UnixNano(), Active: true}
	failure := errors.New("connection reset")
	for _, tc := range []struct {
		name     string
		pool     fakePool
		wantErr  error // nil, reset.ErrAccountChanged, or failure (wrapped)
		wantSets int
	}{
		{"unchanged since issue", fakePool{modified: issuedAt}, nil, 1},
		{"changed since issue", fakePool{modified: issuedAt.Add(time.Millisecond)}, reset.ErrAccountChanged, 0},
		// A stamp earlier than the one read is no less a different user
		// (deleted and made again under the same name, a restored pool).
		{"stamp went back", fakePool{modified: issuedAt.Add(-time.Second)}, reset.ErrAccountChanged, 0},
		// The same stamp (two changes inside its resolution) with the
		// user disabled or its address changed: still not the account
		// the code or link was issued for.
		{"disabled, same stamp", fakePool{modified: issuedAt, disabled: true}, reset.ErrAccountChanged, 0},
		{"email changed, same stamp", fakePool{modified: issuedAt, email: "eve@example.com"}, reset.ErrAccountChanged, 0},
		{"deleted since issue", fakePool{getErr: &types.UserNotFoundException{Message: aws.String("User does not exist.")}}, reset.ErrAccountChanged, 0},
		{"deleted between read and set", fakePool{modified: issuedAt, setErr: &types.UserNotFoundException{Message: aws.String("User does not exist.")}}, reset.ErrAccountChanged, 0},
		{"read fails", fakePool{getErr: failure}, failure, 0},
		{"set fails", fakePool{modified: issuedAt, setErr: failure}, failure, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pool := tc.pool
			dir := cognito.New(&pool, "eu-west-1_AbC123")
			err := dir.SetPassword(t.Context(), acct, acct.SessionVersion, "new-password-6", noHash(t))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("SetPassword = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == failure && errors.Is(err, reset.ErrAccountChanged) {
				t.Errorf("SetPassword = %v: a failed call is not a changed account (the claim must be released, not finished)", err)
			}
			if len(pool.sets) != tc.wantSets {
				t.Errorf("AdminSetUserPassword set %d passwords, want %d", len(pool.sets), tc.wantSets)
			}
			if pool.gets != 1 {
				t.Errorf("AdminGetUser called %d times, want 1: the version is read once, after the claim", pool.gets)
			}
		})
	}
}
