package receiver

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/webhook"
)

func TestMain(m *testing.M) { os.Exit(emulator.RunPostgres(m)) }

// testSecret is the secret passreset and the receiver share in the tests.
var testSecret = mustSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte("receiver-test-secret-32-bytes!!!")))

func mustSecret(s string) webhook.Secret {
	secret, err := webhook.ParseSecret(s)
	if err != nil {
		panic(err)
	}
	return secret
}

// fixture is a receiver on a schema of its own, and a client of it.
type fixture struct {
	db     *pgxpool.Pool
	url    string
	client *webhook.Client
}

var schemaCount atomic.Int64

// newFixture creates a fresh schema from Schema on the shared server,
// serves the receiver on it, and returns a client signing with testSecret.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	pg := emulator.NeedPostgres(t)
	ctx := context.Background()
	schema := fmt.Sprintf("t%d_%d", os.Getpid(), schemaCount.Add(1))
	admin, err := pgxpool.New(ctx, pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	// search_path as a connection parameter puts every connection of the
	// pool, and so every query of the receiver, in this test's schema.
	db, err := pgxpool.New(ctx, pg.DSN+"&search_path="+schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	if _, err := db.Exec(ctx, Schema); err != nil {
		t.Fatalf("schema.sql: %v", err)
	}
	srv := httptest.NewServer(New(db, []webhook.Secret{testSecret}, time.Now, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	client, err := webhook.New(webhook.Config{BaseURL: srv.URL, Secrets: []webhook.Secret{testSecret}, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, url: srv.URL, client: client}
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := f.db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// seed adds Ana (verified, writing German, with two sessions) and Bo
// (no language, one session).
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	f.exec(t, `INSERT INTO users (id, email, username, password_hash, verified, enabled, version, locale) VALUES
		('u-ana', 'Ana@Example.com', 'ana', 'hash-ana-1', true, true, 7, 'de'),
		('u-bo', 'bo@example.com', NULL, 'hash-bo-1', false, true, 1, NULL)`)
	f.exec(t, `INSERT INTO sessions (id, user_id) VALUES ('s1', 'u-ana'), ('s2', 'u-ana'), ('s3', 'u-bo')`)
}

func (f *fixture) user(t *testing.T, id string) (hash string, version int64) {
	t.Helper()
	if err := f.db.QueryRow(context.Background(), `SELECT password_hash, version FROM users WHERE id = $1`, id).Scan(&hash, &version); err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return hash, version
}

func (f *fixture) sessions(t *testing.T, userID string) int {
	t.Helper()
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM sessions WHERE user_id = $1`, userID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLookup(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	ctx := context.Background()
	ana := webhook.Account{ID: "u-ana", Email: "Ana@Example.com", Username: "ana", Verified: true, Enabled: true, Version: 7, Locale: "de"}
	anaWithHash := ana
	anaWithHash.PasswordHash = "hash-ana-1"

	tests := []struct {
		name   string
		lookup func(context.Context, string) (webhook.Account, error)
		value  string
		want   webhook.Account
	}{
		{"email, other case", f.client.AccountByEmail, "ANA@example.COM", ana},
		{"email, exact", f.client.AccountByEmail, "Ana@Example.com", ana},
		{"user name", f.client.AccountByUsername, "ana", ana},
		{"user name is case-sensitive", f.client.AccountByUsername, "ANA", webhook.Account{}},
		{"id, with its hash", f.client.AccountByID, "u-ana", anaWithHash},
		{"unknown email", f.client.AccountByEmail, "nobody@example.com", webhook.Account{}},
		{"unknown id", f.client.AccountByID, "u-nobody", webhook.Account{}},
		{"email of an account with no user name", f.client.AccountByEmail, "bo@example.com",
			webhook.Account{ID: "u-bo", Email: "bo@example.com", Enabled: true, Version: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.lookup(ctx, tt.value)
			if err != nil {
				t.Fatalf("lookup %q: %v", tt.value, err)
			}
			if got != tt.want {
				t.Errorf("lookup %q = %+v, want %+v", tt.value, got, tt.want)
			}
		})
	}
}

// TestLookupAmbiguous: on a table that does not enforce one account per
// address (many teams' do not), two matches are refused, not one picked.
func TestLookupAmbiguous(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `ALTER TABLE users DROP CONSTRAINT users_email_lower_key`)
	f.exec(t, `INSERT INTO users (id, email, password_hash) VALUES ('u-1', 'twin@example.com', 'h1'), ('u-2', 'TWIN@example.com', 'h2')`)
	_, err := f.client.AccountByEmail(context.Background(), "twin@example.com")
	if !errors.Is(err, webhook.ErrAmbiguous) {
		t.Errorf("AccountByEmail of an address two accounts share: %v, want ErrAmbiguous", err)
	}
}

func TestSetPassword(t *testing.T) {
	ctx := context.Background()

	t.Run("applied", func(t *testing.T) {
		f := newFixture(t)
		f.seed(t)
		version, err := f.client.SetPassword(ctx, "u-ana", "hash-ana-2", 7)
		if err != nil || version != 8 {
			t.Fatalf("SetPassword at the current version = %d, %v; want 8, nil", version, err)
		}
		if hash, v := f.user(t, "u-ana"); hash != "hash-ana-2" || v != 8 {
			t.Errorf("stored %q at %d, want hash-ana-2 at 8", hash, v)
		}
	})

	t.Run("version moved", func(t *testing.T) {
		f := newFixture(t)
		f.seed(t)
		_, err := f.client.SetPassword(ctx, "u-ana", "hash-ana-2", 6)
		if !errors.Is(err, webhook.ErrVersionMoved) {
			t.Fatalf("SetPassword at a past version: %v, want ErrVersionMoved", err)
		}
		if hash, v := f.user(t, "u-ana"); hash != "hash-ana-1" || v != 7 {
			t.Errorf("stored %q at %d, want it untouched: hash-ana-1 at 7", hash, v)
		}
		if _, err := f.client.SetPassword(ctx, "u-gone", "hash-x", 1); !errors.Is(err, webhook.ErrVersionMoved) {
			t.Errorf("SetPassword of an unknown account: %v, want ErrVersionMoved", err)
		}
	})

	t.Run("repeat of an applied change is applied", func(t *testing.T) {
		f := newFixture(t)
		f.seed(t)
		if _, err := f.client.SetPassword(ctx, "u-ana", "hash-ana-2", 7); err != nil {
			t.Fatal(err)
		}
		// The same call again, as a retry after a lost answer sends it.
		version, err := f.client.SetPassword(ctx, "u-ana", "hash-ana-2", 7)
		if err != nil || version != 8 {
			t.Errorf("repeated SetPassword = %d, %v; want 8, nil", version, err)
		}
		if hash, v := f.user(t, "u-ana"); hash != "hash-ana-2" || v != 8 {
			t.Errorf("stored %q at %d, want hash-ana-2 at 8, incremented once", hash, v)
		}
		// Another hash at the same expected version is another change: refused.
		if _, err := f.client.SetPassword(ctx, "u-ana", "hash-ana-3", 7); !errors.Is(err, webhook.ErrVersionMoved) {
			t.Errorf("a different hash at the old version: %v, want ErrVersionMoved", err)
		}
	})
}

// TestSetPasswordRace: 30 calls with the same expected version, released at
// once: the condition in SQL lets exactly one through.
func TestSetPasswordRace(t *testing.T) {
	const racers = 30
	f := newFixture(t)
	f.seed(t)
	ctx := context.Background()
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() {
			<-start
			_, errs[i] = f.client.SetPassword(ctx, "u-ana", "hash-racer-"+strconv.Itoa(i), 7)
		})
	}
	close(start)
	wg.Wait()

	applied, moved := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if applied != -1 {
				t.Errorf("racers %d and %d both applied", applied, i)
			}
			applied = i
		case errors.Is(err, webhook.ErrVersionMoved):
			moved++
		default:
			t.Errorf("racer %d: %v", i, err)
		}
	}
	if applied == -1 || moved != racers-1 {
		t.Fatalf("%d racers: applied by racer %d, %d version moved; want one applied, %d moved", racers, applied, moved, racers-1)
	}
	if hash, v := f.user(t, "u-ana"); hash != "hash-racer-"+strconv.Itoa(applied) || v != 8 {
		t.Errorf("stored %q at %d, want the winner's hash-racer-%d at 8", hash, v, applied)
	}
}

func TestEndSessions(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	ctx := context.Background()
	if err := f.client.EndSessions(ctx, "u-ana"); err != nil {
		t.Fatal(err)
	}
	if n := f.sessions(t, "u-ana"); n != 0 {
		t.Errorf("Ana has %d sessions after EndSessions, want 0", n)
	}
	if n := f.sessions(t, "u-bo"); n != 1 {
		t.Errorf("Bo has %d sessions after Ana's EndSessions, want his 1", n)
	}
	// Again, with nothing left to end: no error.
	if err := f.client.EndSessions(ctx, "u-ana"); err != nil {
		t.Errorf("EndSessions with none left: %v", err)
	}
}

// TestRefusesUnsigned: what is not signed with the secret, or signed too
// long ago, or signed over another body is 401 and changes nothing.
func TestRefusesUnsigned(t *testing.T) {
	f := newFixture(t)
	f.seed(t)
	other := mustSecret("whsec_" + base64.StdEncoding.EncodeToString([]byte("some-other-secret-of-32-bytes!!!")))
	now := time.Now()

	tests := []struct {
		name   string
		secret webhook.Secret
		signed time.Time
		tamper bool // the signature is over Bo's id, the body sent names Ana
	}{
		{"bad signature", other, now, false},
		{"stale timestamp", testSecret, now.Add(-webhook.Tolerance - time.Minute), false},
		{"tampered body", testSecret, now, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, call := range []struct{ path, body string }{
				{webhook.PathSetPassword, `{"id":"u-ana","password_hash":"hash-evil","expected_version":7}`},
				{webhook.PathEndSessions, `{"id":"u-ana"}`},
			} {
				signedBody := call.body
				if tt.tamper {
					signedBody = strings.Replace(call.body, "u-ana", "u-bo", 1)
				}
				req, err := http.NewRequest(http.MethodPost, f.url+call.path, strings.NewReader(call.body))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set(webhook.HeaderID, "msg_test")
				req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(tt.signed.Unix(), 10))
				req.Header.Set(webhook.HeaderSignature, webhook.Sign(tt.secret, "msg_test", tt.signed, []byte(signedBody)))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("POST %s: status %d, want 401", call.path, resp.StatusCode)
				}
			}
			if hash, v := f.user(t, "u-ana"); hash != "hash-ana-1" || v != 7 {
				t.Errorf("after refused calls Ana is %q at %d, want hash-ana-1 at 7", hash, v)
			}
			if n := f.sessions(t, "u-ana"); n != 2 {
				t.Errorf("after refused calls Ana has %d sessions, want 2", n)
			}
		})
	}
}
