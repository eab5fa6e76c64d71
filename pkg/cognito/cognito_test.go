package cognito_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/cognito"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

func TestMain(m *testing.M) { os.Exit(emulator.RunCognito(m)) }

// poolMinLength is the test pools' password policy minimum, above the
// contract's 8 so that a password passreset accepts can be one the pool
// refuses.
const poolMinLength = 12

// testPool is a fresh user pool on cognito-local, a Directory over it that
// talks through a stand-in, and an admin client that talks to the emulator
// directly, for setting up users and checking what the Directory did.
type testPool struct {
	id       string
	clientID string // an app client allowing ADMIN_USER_PASSWORD_AUTH
	admin    *cip.Client
	standIn  *standIn
	dir      *cognito.Directory
}

func newClient(endpoint string) *cip.Client {
	return cip.New(cip.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
		// One try: an error a test makes the stand-in answer is to be
		// seen once, not retried.
		RetryMaxAttempts: 1,
	})
}

func newPool(t *testing.T) *testPool {
	t.Helper()
	emu := emulator.NeedCognito(t)
	ctx := t.Context()
	admin := newClient(emu.Endpoint)
	pool, err := admin.CreateUserPool(ctx, &cip.CreateUserPoolInput{
		PoolName: aws.String(t.Name()),
		Policies: &types.UserPoolPolicyType{PasswordPolicy: &types.PasswordPolicyType{MinimumLength: aws.Int32(poolMinLength)}},
	})
	if err != nil {
		t.Fatalf("CreateUserPool: %v", err)
	}
	poolID := aws.ToString(pool.UserPool.Id)
	client, err := admin.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:        aws.String(poolID),
		ClientName:        aws.String("test"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
	})
	if err != nil {
		t.Fatalf("CreateUserPoolClient: %v", err)
	}
	s := newStandIn(t, emu.Endpoint)
	return &testPool{
		id:       poolID,
		clientID: aws.ToString(client.UserPoolClient.ClientId),
		admin:    admin,
		standIn:  s,
		dir:      cognito.New(newClient(s.URL), poolID),
	}
}

// user is a user to create; the zero values of its flags make the
// ordinary active user.
type user struct {
	name, email string
	unverified  bool // email_verified "false"
	disabled    bool
	invited     bool // left FORCE_CHANGE_PASSWORD: no permanent password set
	locale      string
}

const firstPassword = "first-password-1"

func (p *testPool) create(t *testing.T, u user) {
	t.Helper()
	ctx := t.Context()
	attrs := []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("true")}}
	if u.unverified {
		attrs[0].Value = aws.String("false")
	}
	if u.email != "" {
		attrs = append(attrs, types.AttributeType{Name: aws.String("email"), Value: aws.String(u.email)})
	}
	if u.locale != "" {
		attrs = append(attrs, types.AttributeType{Name: aws.String("locale"), Value: aws.String(u.locale)})
	}
	if _, err := p.admin.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:        aws.String(p.id),
		Username:          aws.String(u.name),
		UserAttributes:    attrs,
		TemporaryPassword: aws.String("temporary-password-1"),
		MessageAction:     types.MessageActionTypeSuppress,
	}); err != nil {
		t.Fatalf("AdminCreateUser %s: %v", u.name, err)
	}
	if !u.invited {
		if _, err := p.admin.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
			UserPoolId: aws.String(p.id), Username: aws.String(u.name),
			Password: aws.String(firstPassword), Permanent: true,
		}); err != nil {
			t.Fatalf("AdminSetUserPassword %s: %v", u.name, err)
		}
	}
	if u.disabled {
		if _, err := p.admin.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(p.id), Username: aws.String(u.name)}); err != nil {
			t.Fatalf("AdminDisableUser %s: %v", u.name, err)
		}
	}
}

// signIn reports whether name signs in with pw, by the admin password flow.
func (p *testPool) signIn(t *testing.T, name, pw string) bool {
	t.Helper()
	_, err := p.admin.AdminInitiateAuth(t.Context(), &cip.AdminInitiateAuthInput{
		UserPoolId:     aws.String(p.id),
		ClientId:       aws.String(p.clientID),
		AuthFlow:       types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": name, "PASSWORD": pw},
	})
	var api smithy.APIError
	switch {
	case err == nil:
		return true
	// Cognito says NotAuthorizedException for a wrong password;
	// cognito-local says InvalidPasswordException.
	case errors.As(err, &api) && (api.ErrorCode() == "NotAuthorizedException" || api.ErrorCode() == "InvalidPasswordException"):
		return false
	default:
		t.Fatalf("AdminInitiateAuth %s: %v", name, err)
		return false
	}
}

func TestAccountByEmail(t *testing.T) {
	p := newPool(t)
	p.create(t, user{name: "ada", email: "ada@example.com"})
	p.create(t, user{name: "grace", email: "Grace@Example.com"})
	p.create(t, user{name: "twin1", email: "twin@example.com"})
	p.create(t, user{name: "twin2", email: "twin@example.com"})

	for _, tc := range []struct {
		name, asked string
		wantID      string // "" when wantErr
		wantErr     error
	}{
		{name: "stored lower-case, asked lower-case", asked: "ada@example.com", wantID: "ada"},
		{name: "stored lower-case, asked in capitals", asked: "ADA@Example.COM", wantID: "ada"},
		// Asked as "grace@example.com". AWS's developer guide says its
		// searches ignore case and would find Grace; cognito-local's
		// filter does not, so on it she is unknown.
		{name: "stored mixed-case, cognito-local", asked: "Grace@Example.com", wantErr: reset.ErrUnknownAccount},
		{name: "unknown", asked: "nobody@example.com", wantErr: reset.ErrUnknownAccount},
		{name: "two users share it", asked: "twin@example.com", wantErr: reset.ErrAmbiguousAccount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(p.standIn.sent("ListUsers"))
			acct, err := p.dir.AccountByEmail(t.Context(), tc.asked)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("AccountByEmail(%q) error = %v, want %v", tc.asked, err, tc.wantErr)
			}
			if acct.ID != tc.wantID {
				t.Errorf("AccountByEmail(%q).ID = %q, want %q", tc.asked, acct.ID, tc.wantID)
			}
			calls := p.standIn.sent("ListUsers")[before:]
			if len(calls) != 1 {
				t.Fatalf("AccountByEmail(%q) made %d ListUsers calls, want 1", tc.asked, len(calls))
			}
			wantFilter := `email = "` + strings.ToLower(tc.asked) + `"`
			if got := calls[0].body["Filter"]; got != wantFilter {
				t.Errorf("AccountByEmail(%q) sent Filter %q, want %q", tc.asked, got, wantFilter)
			}
			// Two are enough to tell one user from several.
			if got := calls[0].body["Limit"]; got != float64(2) {
				t.Errorf("AccountByEmail(%q) sent Limit %v, want 2", tc.asked, got)
			}
			if got := calls[0].body["UserPoolId"]; got != p.id {
				t.Errorf("AccountByEmail(%q) sent UserPoolId %v, want %q", tc.asked, got, p.id)
			}
		})
	}

	t.Run("found account", func(t *testing.T) {
		acct, err := p.dir.AccountByEmail(t.Context(), "ada@example.com")
		if err != nil {
			t.Fatalf("AccountByEmail: %v", err)
		}
		if acct.Email != "ada@example.com" || acct.Username != "ada" || !acct.Active || acct.PasswordHash != "" || acct.SessionVersion == 0 {
			t.Errorf("AccountByEmail = %+v, want ada, ada@example.com, active, no hash, a session version", acct)
		}
	})

	// Neither can be in an address reset.ParseEmail accepts; refusing them
	// keeps the filter's value free of anything to escape.
	for _, asked := range []string{`a"b@example.com`, `a\b@example.com`, `x@example.com" or email ^= "`} {
		t.Run("refused "+asked, func(t *testing.T) {
			before := len(p.standIn.sent("ListUsers"))
			_, err := p.dir.AccountByEmail(t.Context(), asked)
			if !errors.Is(err, reset.ErrInvalidEmail) {
				t.Errorf("AccountByEmail(%q) error = %v, want reset.ErrInvalidEmail", asked, err)
			}
			if err != nil && strings.Contains(err.Error(), "example.com") {
				t.Errorf("AccountByEmail(%q) error %q holds the address", asked, err)
			}
			if n := len(p.standIn.sent("ListUsers")) - before; n != 0 {
				t.Errorf("AccountByEmail(%q) made %d ListUsers calls, want 0", asked, n)
			}
		})
	}
}

func TestAccountByUsernameAndID(t *testing.T) {
	p := newPool(t)
	p.create(t, user{name: "ada", email: "Ada@Example.com", locale: "de-AT"})

	byName, err := p.dir.AccountByUsername(t.Context(), "ada")
	if err != nil {
		t.Fatalf("AccountByUsername(ada): %v", err)
	}
	// The email as Cognito holds it, capitals and all: mail goes there.
	// The mails' language: Cognito's standard locale attribute.
	want := reset.Account{ID: "ada", Username: "ada", Email: "Ada@Example.com", Language: "de-AT", Active: true, SessionVersion: byName.SessionVersion}
	if byName != want || byName.SessionVersion == 0 {
		t.Errorf("AccountByUsername(ada) = %+v, want %+v with a session version", byName, want)
	}
	byID, err := p.dir.AccountByID(t.Context(), byName.ID)
	if err != nil {
		t.Fatalf("AccountByID(%q): %v", byName.ID, err)
	}
	if byID != byName {
		t.Errorf("AccountByID(%q) = %+v, want %+v", byName.ID, byID, byName)
	}

	for _, lookup := range []struct {
		name string
		find func(context.Context, string) (reset.Account, error)
	}{
		{"AccountByUsername", p.dir.AccountByUsername},
		{"AccountByID", p.dir.AccountByID},
	} {
		acct, err := lookup.find(t.Context(), "nobody")
		if !errors.Is(err, reset.ErrUnknownAccount) || acct != (reset.Account{}) {
			t.Errorf("%s(nobody) = %+v, %v; want the zero Account, reset.ErrUnknownAccount", lookup.name, acct, err)
		}
	}
}

func TestActive(t *testing.T) {
	p := newPool(t)
	for _, tc := range []struct {
		name string
		u    user
		want bool
	}{
		{"confirmed and verified", user{email: "a@example.com"}, true},
		{"email not verified", user{email: "b@example.com", unverified: true}, false},
		{"disabled", user{email: "c@example.com", disabled: true}, false},
		{"invited, never signed in", user{email: "d@example.com", invited: true}, false},
		{"no email", user{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.u.name = strings.ReplaceAll(tc.name, " ", "-")
			tc.u.name = strings.ReplaceAll(tc.u.name, ",", "")
			p.create(t, tc.u)
			acct, err := p.dir.AccountByUsername(t.Context(), tc.u.name)
			if err != nil {
				t.Fatalf("AccountByUsername(%s): %v", tc.u.name, err)
			}
			if acct.Active != tc.want {
				t.Errorf("AccountByUsername(%s).Active = %v, want %v", tc.u.name, acct.Active, tc.want)
			}
		})
	}
}

func TestSetPassword(t *testing.T) {
	p := newPool(t)
	p.create(t, user{name: "ada", email: "ada@example.com"})
	before, err := p.dir.AccountByID(t.Context(), "ada")
	if err != nil {
		t.Fatalf("AccountByID: %v", err)
	}
	// cognito-local keeps UserLastModifiedDate to the second; Cognito to
	// the millisecond. Step into the next second so that the change can
	// show.
	time.Sleep(time.Until(time.Unix(0, before.SessionVersion).Add(time.Second)))

	const newPassword = "second-password-2"
	if err := p.dir.SetPassword(t.Context(), before, before.SessionVersion, newPassword, noHash(t)); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if !p.signIn(t, "ada", newPassword) {
		t.Error("ada does not sign in with the new password")
	}
	if p.signIn(t, "ada", firstPassword) {
		t.Error("ada still signs in with the old password")
	}
	after, err := p.dir.AccountByID(t.Context(), "ada")
	if err != nil {
		t.Fatalf("AccountByID: %v", err)
	}
	if after.SessionVersion <= before.SessionVersion {
		t.Errorf("SessionVersion after SetPassword = %d, want more than %d", after.SessionVersion, before.SessionVersion)
	}
	if !after.Active {
		t.Error("ada is not active after SetPassword")
	}
	calls := p.standIn.sent("AdminSetUserPassword")
	if len(calls) != 1 || calls[0].body["Permanent"] != true || calls[0].body["Username"] != "ada" || calls[0].body["UserPoolId"] != p.id {
		t.Errorf("AdminSetUserPassword calls = %v, want one, Permanent, for ada in %s", calls, p.id)
	}
}

// TestSetPasswordRefused covers the passwords a pool refuses. cognito-local
// checks no password policy or history in AdminSetUserPassword, so the
// stand-in answers as Cognito does for this pool's 12-character minimum
// and for a reused password, and the user must be left as it was.
func TestSetPasswordRefused(t *testing.T) {
	for _, tc := range []struct {
		name, code, message string
		wantReason          string
	}{
		{"too short for the pool", "InvalidPasswordException", "Password did not conform with policy: Password not long enough",
			"Password does not meet the account's password requirements."},
		{"used before", "PasswordHistoryPolicyViolationException", "The password history policy was violated.",
			"Password was used before on this account. Choose a different one."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t)
			p.create(t, user{name: "ada", email: "ada@example.com"})
			before, err := p.dir.AccountByID(t.Context(), "ada")
			if err != nil {
				t.Fatalf("AccountByID: %v", err)
			}
			p.standIn.answerWith("AdminSetUserPassword", answer{400, cognitoError(tc.code, tc.message)})

			const refused = "short-pw-9" // 10 characters: the contract's 8 allow it, the pool's 12 do not
			err = p.dir.SetPassword(t.Context(), before, before.SessionVersion, refused, noHash(t))
			rej, ok := errors.AsType[*password.Rejection](err)
			if !ok {
				t.Fatalf("SetPassword error = %v, want a *password.Rejection", err)
			}
			if rej.Rule != cognito.RuleProvider || rej.Reason != tc.wantReason {
				t.Errorf("Rejection = %+v, want Rule %q, Reason %q", rej, cognito.RuleProvider, tc.wantReason)
			}
			if strings.Contains(rej.Error(), refused) {
				t.Errorf("Rejection %q holds the password", rej)
			}
			if !p.signIn(t, "ada", firstPassword) {
				t.Error("ada no longer signs in with the old password")
			}
			after, err := p.dir.AccountByID(t.Context(), "ada")
			if err != nil {
				t.Fatalf("AccountByID: %v", err)
			}
			if after != before {
				t.Errorf("account after a refused password = %+v, want %+v", after, before)
			}
		})
	}
}

func TestEndSessions(t *testing.T) {
	p := newPool(t)
	p.create(t, user{name: "ada", email: "ada@example.com"})
	// cognito-local has no AdminUserGlobalSignOut; the stand-in answers
	// it as Cognito does, with an empty object.
	p.standIn.answerWith("AdminUserGlobalSignOut", answer{200, `{}`})

	if err := p.dir.EndSessions(t.Context(), "ada"); err != nil {
		t.Fatalf("EndSessions: %v", err)
	}
	calls := p.standIn.sent("AdminUserGlobalSignOut")
	if len(calls) != 1 {
		t.Fatalf("EndSessions made %d AdminUserGlobalSignOut calls, want 1", len(calls))
	}
	if got := calls[0].body; got["UserPoolId"] != p.id || got["Username"] != "ada" || len(got) != 2 {
		t.Errorf("AdminUserGlobalSignOut body = %v, want UserPoolId %s and Username ada only", got, p.id)
	}

	t.Run("user gone", func(t *testing.T) {
		p.standIn.answerWith("AdminUserGlobalSignOut", answer{400, cognitoError("UserNotFoundException", "User does not exist.")})
		if err := p.dir.EndSessions(t.Context(), "nobody"); err != nil {
			t.Errorf("EndSessions(nobody) = %v, want nil: a deleted user has no sessions", err)
		}
	})
	t.Run("Cognito fails", func(t *testing.T) {
		p.standIn.answerWith("AdminUserGlobalSignOut", answer{400, cognitoError("TooManyRequestsException", "Rate exceeded")})
		err := p.dir.EndSessions(t.Context(), "ada")
		if _, ok := errors.AsType[*types.TooManyRequestsException](err); !ok {
			t.Errorf("EndSessions error = %v, want one wrapping TooManyRequestsException", err)
		}
	})
}

// TestErrorsHoldNoSecrets makes Cognito answer each call with an error
// whose message quotes the request, as AWS messages may: the errors the
// Directory returns must not hold the email or the password.
func TestErrorsHoldNoSecrets(t *testing.T) {
	p := newPool(t)
	p.create(t, user{name: "ada", email: "ada@example.com"})
	acct, err := p.dir.AccountByID(t.Context(), "ada")
	if err != nil {
		t.Fatalf("AccountByID: %v", err)
	}
	const email, pw = "ada@example.com", "secret-password-3"
	for _, tc := range []struct {
		op   string
		call func() error
	}{
		{"ListUsers", func() error { _, err := p.dir.AccountByEmail(t.Context(), email); return err }},
		{"AdminGetUser", func() error { _, err := p.dir.AccountByID(t.Context(), "ada"); return err }},
		{"AdminSetUserPassword", func() error {
			return p.dir.SetPassword(t.Context(), acct, acct.SessionVersion, pw, noHash(t))
		}},
		{"AdminUserGlobalSignOut", func() error { return p.dir.EndSessions(t.Context(), "ada") }},
	} {
		// Only this call fails, so SetPassword's own AdminGetUser passes
		// and its AdminSetUserPassword is the one answered.
		p.standIn.answerWith(tc.op, answer{400, cognitoError("InvalidParameterException", "bad value "+email+" "+pw)})
		err := tc.call()
		p.standIn.passOn(tc.op)
		if _, ok := errors.AsType[*types.InvalidParameterException](err); !ok {
			t.Errorf("%s: error = %v, want one wrapping InvalidParameterException", tc.op, err)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, email) || strings.Contains(msg, pw) {
			t.Errorf("%s: error %q holds the email or the password", tc.op, msg)
		}
		if !strings.Contains(msg, "InvalidParameterException") || !strings.Contains(msg, "stand-in-request") {
			t.Errorf("%s: error %q, want the error code and the request id", tc.op, msg)
		}
		if n := len(p.standIn.sent(tc.op)); n == 0 {
			t.Errorf("%s: never called", tc.op)
		}
	}
}

// noHash is the hash function SetPassword is handed; Cognito hashes the
// password itself, so calling it is a mistake.
func noHash(t *testing.T) func() (string, error) {
	return func() (string, error) {
		t.Error("SetPassword called the hash function; Cognito takes the password itself")
		return "", errors.New("no hash here")
	}
}

// TestSetPasswordAfterAChangeElsewhere changes ada's password by another
// route after her version was read (as a code is issued): a reset on the
// old version must be refused and leave the other password in place.
func TestSetPasswordAfterAChangeElsewhere(t *testing.T) {
	p := newPool(t)
	p.create(t, user{name: "ada", email: "ada@example.com"})
	issued, err := p.dir.AccountByID(t.Context(), "ada")
	if err != nil {
		t.Fatalf("AccountByID: %v", err)
	}
	// cognito-local stamps UserLastModifiedDate to the second: step into
	// the next one, or the change elsewhere could not show.
	time.Sleep(time.Until(time.Unix(0, issued.SessionVersion).Add(time.Second)))
	const elsewhere = "changed-elsewhere-4"
	if _, err := p.admin.AdminSetUserPassword(t.Context(), &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.id), Username: aws.String("ada"), Password: aws.String(elsewhere), Permanent: true,
	}); err != nil {
		t.Fatalf("AdminSetUserPassword elsewhere: %v", err)
	}

	err = p.dir.SetPassword(t.Context(), issued, issued.SessionVersion, "from-the-reset-5", noHash(t))
	if !errors.Is(err, reset.ErrAccountChanged) {
		t.Fatalf("SetPassword on the old version = %v, want reset.ErrAccountChanged", err)
	}
	if !p.signIn(t, "ada", elsewhere) {
		t.Error("the password set elsewhere no longer works")
	}
	if n := len(p.standIn.sent("AdminSetUserPassword")); n != 0 {
		t.Errorf("SetPassword made %d AdminSetUserPassword calls, want 0", n)
	}

	t.Run("user deleted since", func(t *testing.T) {
		p.create(t, user{name: "grace", email: "grace@example.com"})
		acct, err := p.dir.AccountByID(t.Context(), "grace")
		if err != nil {
			t.Fatalf("AccountByID: %v", err)
		}
		if _, err := p.admin.AdminDeleteUser(t.Context(), &cip.AdminDeleteUserInput{UserPoolId: aws.String(p.id), Username: aws.String("grace")}); err != nil {
			t.Fatalf("AdminDeleteUser: %v", err)
		}
		if err := p.dir.SetPassword(t.Context(), acct, acct.SessionVersion, "from-the-reset-5", noHash(t)); !errors.Is(err, reset.ErrAccountChanged) {
			t.Errorf("SetPassword of a deleted user = %v, want reset.ErrAccountChanged", err)
		}
	})
}
