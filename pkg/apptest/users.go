package apptest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// Where an Env's accounts live. The same tests run on every back-end
// (issue 14: one contract suite, every back-end), so a test adds, reads and
// changes accounts through the Env, never through one back-end's client.

// EnvUsersBackend names the back-end the Envs of a test binary keep their
// accounts in: "" or BackendDynamoDB, the DynamoDB users table;
// BackendWebhook, the reference receiver's PostgreSQL reached through the
// signed hook (hook.go); or BackendCognito, a user pool on cognito-local
// (cognito.go). Codes, links and limits are in the DynamoDB tokens table
// either way.
const EnvUsersBackend = "PASSRESET_TEST_USERS_BACKEND"

// The values of EnvUsersBackend, as USERS_BACKEND spells them.
const (
	BackendDynamoDB = "dynamodb"
	BackendWebhook  = "webhook"
	BackendCognito  = "cognito"
)

// Backend is the back-end EnvUsersBackend chooses; it fails t on a value
// it does not know, so a typo cannot quietly run the default.
func Backend(t testing.TB) string {
	t.Helper()
	b, err := backend()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func backend() (string, error) {
	switch v := os.Getenv(EnvUsersBackend); v {
	case "", BackendDynamoDB:
		return BackendDynamoDB, nil
	case BackendWebhook, BackendCognito:
		return v, nil
	default:
		return "", fmt.Errorf("apptest: %s=%q; want %s, %s or %s", EnvUsersBackend, v, BackendDynamoDB, BackendWebhook, BackendCognito)
	}
}

// users is one back-end's accounts, as the tests reach them: not through
// the service, so that arranging and checking a test makes none of the
// calls it counts.
type users interface {
	// add stores a new account; its version (session_version) starts at
	// 0. plain is the password a.PasswordHash is the hash of, for a
	// back-end that takes passwords, not hashes (Cognito); "" when the
	// test chose only the hash. It returns the account's id as the
	// service knows it: a.ID, or on Cognito the user name.
	add(ctx context.Context, a dynamo.NewAccount, plain string) (string, error)
	// byID reads the account, with its password hash and version.
	byID(ctx context.Context, id string) (reset.Account, error)
	// passwordIs reports whether pw is the account's password.
	passwordIs(ctx context.Context, id, pw string) (bool, error)
	// setPassword changes the password to plain (hash is its hash) as
	// another route of the app would (a profile page, an admin), moving
	// the account's version.
	setPassword(ctx context.Context, id, plain, hash string, now time.Time) error
	// setEmail changes the account's address as the app would: on
	// DynamoDB the email attribute alone, behind the hook with the
	// version moved, as the protocol requires of every change.
	setEmail(ctx context.Context, id, email string) error
	// addSessions stores n sessions of the account, as a login would.
	addSessions(ctx context.Context, id string, n int) error
	// sessionsOf counts the account's sessions.
	sessionsOf(ctx context.Context, id string) (int, error)
}

// Account is a user added by a test, with the password it was given.
type Account struct {
	ID       string
	Email    string
	Username string
	Password string
}

// AccountOption changes an account before it is added.
type AccountOption func(*dynamo.NewAccount)

// Unverified adds the account as not verified.
func Unverified(a *dynamo.NewAccount) { a.Verified = false }

// Disabled adds the account as disabled.
func Disabled(a *dynamo.NewAccount) { a.Enabled = false }

// Language adds the account with its own language for its mails.
func Language(lang string) AccountOption {
	return func(a *dynamo.NewAccount) { a.Language = lang }
}

// AddAccount adds an account with a unique email and user name, its
// password hashed with Argon2id.
func (e *Env) AddAccount(t testing.TB, opts ...AccountOption) Account {
	t.Helper()
	id := randomHex(6)
	pw := "old-password-" + id
	hash, err := hasher(t).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	na := dynamo.NewAccount{
		ID: "u-" + id, Email: "user-" + id + "@example.test", Username: "user" + id,
		PasswordHash: hash, Verified: true, Enabled: true,
	}
	for _, o := range opts {
		o(&na)
	}
	return Account{ID: e.PutAccountWithPassword(t, na, pw), Email: na.Email, Username: na.Username, Password: pw}
}

// PutAccount adds the account a as it is, for tests that choose its hash,
// and returns its id as the service knows it (a.ID; on Cognito, which
// finds users by user name only, the user name). On Cognito, which takes
// no hash, the account gets a password the test does not know.
func (e *Env) PutAccount(t testing.TB, a dynamo.NewAccount) string {
	t.Helper()
	return e.PutAccountWithPassword(t, a, "")
}

// PutAccountWithPassword is PutAccount for an a whose PasswordHash is the
// hash of plain: on Cognito the account's password is then plain.
func (e *Env) PutAccountWithPassword(t testing.TB, a dynamo.NewAccount, plain string) string {
	t.Helper()
	id, err := e.users.add(context.Background(), a, plain)
	if err != nil {
		t.Fatalf("apptest: add account: %v", err)
	}
	return id
}

// PasswordIs reports whether pw is the account's password: its stored hash
// verifies pw, or, on Cognito, which shows no hash, it signs in with pw.
func (e *Env) PasswordIs(t testing.TB, id, pw string) bool {
	t.Helper()
	ok, err := e.users.passwordIs(context.Background(), id, pw)
	if err != nil {
		t.Fatalf("apptest: check the password of %s: %v", id, err)
	}
	return ok
}

// verifyStored is passwordIs for a back-end that stores the hash.
func verifyStored(ctx context.Context, u users, id, pw string) (bool, error) {
	acct, err := u.byID(ctx, id)
	if err != nil {
		return false, err
	}
	return password.Verify(acct.PasswordHash, pw)
}

// Stored returns the account as its back-end holds it. SessionVersion is
// the account's version, which starts at 0 on every back-end and moves
// with each change of its password.
func (e *Env) Stored(t testing.TB, id string) reset.Account {
	t.Helper()
	acct, err := e.users.byID(context.Background(), id)
	if err != nil {
		t.Fatalf("apptest: read account %s: %v", id, err)
	}
	return acct
}

// ChangePasswordElsewhere sets the account's password to pw by another
// route than passreset's (a profile page, an admin), as the app would:
// the version moves, which must kill every code and link issued before.
func (e *Env) ChangePasswordElsewhere(t testing.TB, id, pw string) {
	t.Helper()
	hash, err := hasher(t).Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.users.setPassword(context.Background(), id, pw, hash, e.Clock.Now()); err != nil {
		t.Fatalf("apptest: change password elsewhere: %v", err)
	}
}

// ChangeEmailElsewhere changes the account's stored address, as the app
// would when its user changes it: a code or link mailed to the old one
// must stop working.
func (e *Env) ChangeEmailElsewhere(t testing.TB, id, email string) {
	t.Helper()
	if err := e.users.setEmail(context.Background(), id, email); err != nil {
		t.Fatalf("apptest: change email elsewhere: %v", err)
	}
}

// dynamoUsers is the DynamoDB users table, through the service's store.
type dynamoUsers struct {
	store    *dynamo.Store
	db       *dynamodb.Client
	table    dynamo.UsersTable
	sessions *dynamoSessions // nil without WithSessions
}

func (d *dynamoUsers) add(ctx context.Context, a dynamo.NewAccount, _ string) (string, error) {
	return a.ID, d.store.PutAccount(ctx, a)
}

func (d *dynamoUsers) passwordIs(ctx context.Context, id, pw string) (bool, error) {
	return verifyStored(ctx, d, id, pw)
}

func (d *dynamoUsers) byID(ctx context.Context, id string) (reset.Account, error) {
	return d.store.AccountByID(ctx, id)
}

func (d *dynamoUsers) setPassword(ctx context.Context, id, _, hash string, now time.Time) error {
	return d.store.SetPassword(ctx, id, hash, now)
}

func (d *dynamoUsers) setEmail(ctx context.Context, id, email string) error {
	// The email attribute alone: session_version stays, as an app that
	// knows nothing of passreset would leave it.
	u := d.table
	_, err := d.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(u.Name),
		Key:                       map[string]types.AttributeValue{u.KeyAttribute: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          aws.String("SET #e = :e"),
		ConditionExpression:       aws.String("attribute_exists(#k)"),
		ExpressionAttributeNames:  map[string]string{"#e": u.EmailAttribute, "#k": u.KeyAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: email}},
	})
	return err
}

func (d *dynamoUsers) addSessions(ctx context.Context, id string, n int) error {
	if d.sessions == nil {
		return fmt.Errorf("AddSessions on an Env without a sessions table (WithSessions)")
	}
	return d.sessions.add(ctx, id, n)
}

func (d *dynamoUsers) sessionsOf(ctx context.Context, id string) (int, error) {
	if d.sessions == nil {
		return 0, fmt.Errorf("SessionsOf on an Env without a sessions table (WithSessions)")
	}
	return d.sessions.count(ctx, id)
}
