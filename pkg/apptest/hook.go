package apptest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passreset/passreset/examples/postgres-receiver/receiver"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/webhook"
)

// The webhook back-end (EnvUsersBackend=webhook): the accounts are kept in
// PostgreSQL by the reference receiver (examples/postgres-receiver), which
// each Env serves in-process behind a fault injector of its own, and the
// service reaches it through the signed hook, as it would in production.

// Run starts what the tests of a test binary need for the back-end
// EnvUsersBackend chooses, runs them and stops it all, returning the exit
// code for os.Exit: the DynamoDB and SES emulators always, PostgreSQL too
// for the webhook back-end, cognito-local for the Cognito back-end. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(apptest.Run(m)) }
//
// What happens when one cannot start is emulator.Run's rule: the binary
// fails, saying why (always with CI=true), unless PASSRESET_SKIP_INTEGRATION=1
// lets the tests that need it skip.
func Run(m interface{ Run() int }) int {
	b, err := backend()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	switch b {
	case BackendWebhook:
		return emulator.Run(runFunc(func() int { return emulator.RunPostgres(m) }))
	case BackendCognito:
		return emulator.Run(runFunc(func() int { return emulator.RunCognito(m) }))
	}
	return emulator.Run(m)
}

type runFunc func() int

func (f runFunc) Run() int { return f() }

// hookDatabase is the test binary's receiver database: one schema on the
// PostgreSQL server RunPostgres started, shared by every Env (accounts
// have unique ids, addresses and names, as on the shared DynamoDB Local),
// and the secret the service and the receivers share.
var hookDatabase struct {
	once   sync.Once
	db     *pgxpool.Pool
	secret string // whsec_...
	err    error
}

// hookDB returns the receiver database, creating it on first use.
func hookDB(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	pg := emulator.NeedPostgres(t)
	hookDatabase.once.Do(func() {
		hookDatabase.db, hookDatabase.secret, hookDatabase.err = newHookDB(pg.DSN)
	})
	if hookDatabase.err != nil {
		t.Fatalf("apptest: the receiver's database: %v", hookDatabase.err)
	}
	return hookDatabase.db, hookDatabase.secret
}

func newHookDB(dsn string) (*pgxpool.Pool, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	schema := "apptest_" + randomHex(6)
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, "", err
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, "", err
	}
	// search_path as a connection parameter puts every query of the
	// receiver, which names its tables bare, in the schema.
	cfg, err := pgxpool.ParseConfig(dsn + "&search_path=" + schema)
	if err != nil {
		return nil, "", err
	}
	cfg.MaxConns = 16
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	if _, err := db.Exec(ctx, receiver.Schema); err != nil {
		db.Close()
		return nil, "", fmt.Errorf("the receiver's schema: %w", err)
	}
	// The contract suite stores two accounts with one address, which a
	// DynamoDB email index allows, to check that such an address is
	// answered like an unknown one: the receiver's table allows it too
	// (many teams' do), and the receiver answers it as ambiguous.
	if _, err := db.Exec(ctx, `ALTER TABLE users DROP CONSTRAINT users_email_lower_key;
		CREATE INDEX users_email_lower ON users (email_lower)`); err != nil {
		db.Close()
		return nil, "", err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		db.Close()
		return nil, "", err
	}
	return db, "whsec_" + base64.StdEncoding.EncodeToString(key), nil
}

// startHook serves a receiver for e behind its fault injector and returns
// the settings that point the service at it.
func (e *Env) startHook(t testing.TB) (db *pgxpool.Pool, settings Settings) {
	t.Helper()
	db, secretText := hookDB(t)
	secret, err := webhook.ParseSecret(secretText)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	// The hook client signs with the wall clock, not the service's (the
	// replay window is real time), so the receiver checks with it too: a
	// test that moves the Env's clock on by a day still gets its calls
	// through. Its log is its own, not the service's, which tests search
	// for secrets.
	recv := receiver.New(db, []webhook.Secret{secret}, time.Now, slog.New(slog.DiscardHandler))
	srv := httptest.NewServer(&hookFaults{calls: e.Calls, next: recv})
	t.Cleanup(srv.Close)
	return db, Settings{"USERS_BACKEND": BackendWebhook, "WEBHOOK_URL": srv.URL, "WEBHOOK_SECRET": secretText}
}

// hookFaults stands in front of an Env's receiver: it counts the hook's
// calls in the Env's Calls ("Hook.lookup", "Hook.set-password",
// "Hook.end-sessions"), fails those FailWith chooses with a 500 and holds
// back the answers SlowWith chooses.
type hookFaults struct {
	calls *Calls
	next  http.Handler
}

// The hook's calls as Calls names them.
const (
	HookLookup      = "Hook.lookup"
	HookSetPassword = "Hook.set-password"
	HookEndSessions = "Hook.end-sessions"
)

var hookOps = map[string]string{
	webhook.PathLookup:      HookLookup,
	webhook.PathSetPassword: HookSetPassword,
	webhook.PathEndSessions: HookEndSessions,
}

func (h *hookFaults) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op, ok := hookOps[r.URL.Path]
	if !ok {
		op = "Hook." + strings.TrimPrefix(r.URL.Path, "/")
	}
	fail, slow := h.calls.hook(op, r.Header.Get(webhook.HeaderID))
	if fail != nil {
		// What a receiver whose database is down answers: the client
		// retries it, and every retry of this call fails alike.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":"internal"}`)
		return
	}
	if slow <= 0 {
		h.next.ServeHTTP(w, r)
		return
	}
	// The receiver acts at once; its answer comes late, or never when the
	// service gives up first: a change applied whose answer was lost.
	rec := httptest.NewRecorder()
	h.next.ServeHTTP(rec, r)
	select {
	case <-time.After(slow):
	case <-r.Context().Done():
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes()) //nolint:errcheck // the status is sent; a client gone away is nothing to answer
}

// hookUsers is the receiver's tables, read and written directly: the
// arrangements and checks of a test make no hook call.
type hookUsers struct {
	db *pgxpool.Pool
}

func (h *hookUsers) add(ctx context.Context, a dynamo.NewAccount, _ string) (string, error) {
	var username *string
	if a.Username != "" {
		username = &a.Username
	}
	// Version 0, as DynamoDB's session_version starts: Stored's
	// SessionVersion then counts the password's changes on both back-ends.
	var locale *string
	if a.Language != "" {
		locale = &a.Language
	}
	_, err := h.db.Exec(ctx, `INSERT INTO users (id, email, username, password_hash, verified, enabled, version, locale)
		VALUES ($1, $2, $3, $4, $5, $6, 0, $7)`, a.ID, a.Email, username, a.PasswordHash, a.Verified, a.Enabled, locale)
	return a.ID, err
}

func (h *hookUsers) byID(ctx context.Context, id string) (reset.Account, error) {
	var a reset.Account
	var verified, enabled bool
	err := h.db.QueryRow(ctx, `SELECT id, email, coalesce(username, ''), password_hash, version, verified, enabled
		FROM users WHERE id = $1`, id).Scan(&a.ID, &a.Email, &a.Username, &a.PasswordHash, &a.SessionVersion, &verified, &enabled)
	if errors.Is(err, pgx.ErrNoRows) {
		return reset.Account{}, reset.ErrUnknownAccount
	}
	a.Active = verified && enabled
	return a, err
}

func (h *hookUsers) passwordIs(ctx context.Context, id, pw string) (bool, error) {
	return verifyStored(ctx, h, id, pw)
}

func (h *hookUsers) setPassword(ctx context.Context, id, _, hash string, _ time.Time) error {
	// Every change by any route moves the version: the protocol's rule.
	tag, err := h.db.Exec(ctx, `UPDATE users SET password_hash = $2, version = version + 1 WHERE id = $1`, id, hash)
	if err == nil && tag.RowsAffected() != 1 {
		err = reset.ErrUnknownAccount
	}
	return err
}

func (h *hookUsers) setEmail(ctx context.Context, id, email string) error {
	tag, err := h.db.Exec(ctx, `UPDATE users SET email = $2, version = version + 1 WHERE id = $1`, id, email)
	if err == nil && tag.RowsAffected() != 1 {
		err = reset.ErrUnknownAccount
	}
	return err
}

func (h *hookUsers) addSessions(ctx context.Context, id string, n int) error {
	for i := range n {
		if _, err := h.db.Exec(ctx, `INSERT INTO sessions (id, user_id) VALUES ($1, $2)`,
			fmt.Sprintf("%s-session-%d-%s", id, i, randomHex(4)), id); err != nil {
			return fmt.Errorf("add session: %w", err)
		}
	}
	return nil
}

func (h *hookUsers) sessionsOf(ctx context.Context, id string) (int, error) {
	var n int
	err := h.db.QueryRow(ctx, `SELECT count(*) FROM sessions WHERE user_id = $1`, id).Scan(&n)
	return n, err
}
