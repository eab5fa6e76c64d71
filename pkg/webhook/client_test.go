package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func sprintf(format string, a ...any) string { return fmt.Sprintf(format, a...) }

var testSecret = func() Secret {
	s, err := ParseSecret(vectorSecret)
	if err != nil {
		panic(err)
	}
	return s
}()

// hook is a stand-in for a team's hook that verifies each request and
// records it, and answers with respond.
type hook struct {
	mu       sync.Mutex
	requests []recorded
	respond  func(attempt int, w http.ResponseWriter, r *http.Request)
}

type recorded struct {
	path, id, body string
	verified       error
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.requests = append(h.requests, recorded{
		path: r.URL.Path, id: r.Header.Get(HeaderID), body: string(body),
		verified: Verify([]Secret{testSecret}, r.Header, body, time.Now()),
	})
	attempt := len(h.requests)
	h.mu.Unlock()
	h.respond(attempt, w, r)
}

func (h *hook) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.requests)
}

func answerWith(status int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func newTestClient(t *testing.T, h http.Handler, cfg Config) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cfg.BaseURL = srv.URL + "/hook"
	cfg.Secrets = []Secret{testSecret}
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	secretHash  = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"
	secretEmail = "ana.secret@example.com"
)

func TestRequests(t *testing.T) {
	h := &hook{respond: answerWith(200, `{"account":null,"version":8,"ended":0}`)}
	c := newTestClient(t, h, Config{})
	ctx := context.Background()
	if _, err := c.AccountByEmail(ctx, "Ana@Example.COM"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccountByUsername(ctx, "Ana"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AccountByID(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetPassword(ctx, "u-1", "h", 7); err != nil {
		t.Fatal(err)
	}
	if err := c.EndSessions(ctx, "u-1"); err != nil {
		t.Fatal(err)
	}
	want := []struct{ path, body string }{
		{"/hook/accounts/lookup", `{"by":"email","value":"ana@example.com"}`},
		{"/hook/accounts/lookup", `{"by":"username","value":"Ana"}`},
		{"/hook/accounts/lookup", `{"by":"id","value":"u-1"}`},
		{"/hook/accounts/set-password", `{"id":"u-1","password_hash":"h","expected_version":7}`},
		{"/hook/accounts/end-sessions", `{"id":"u-1"}`},
	}
	if len(h.requests) != len(want) {
		t.Fatalf("%d requests, want %d", len(h.requests), len(want))
	}
	ids := map[string]bool{}
	for i, w := range want {
		got := h.requests[i]
		if got.path != w.path || got.body != w.body || got.verified != nil {
			t.Errorf("request %d: %s %s (verify: %v), want %s %s, verified", i, got.path, got.body, got.verified, w.path, w.body)
		}
		ids[got.id] = true
	}
	if len(ids) != len(want) {
		t.Errorf("%d distinct webhook-ids over %d calls, want one each", len(ids), len(want))
	}
}

func TestAnswers(t *testing.T) {
	ctx := context.Background()
	full := `{"account":{"id":"u-1","email":"a@example.com","username":"a","verified":true,"enabled":true,"version":3,"password_hash":"h1"}}`
	acct := Account{ID: "u-1", Email: "a@example.com", Username: "a", Verified: true, Enabled: true, Version: 3}
	withHash := acct
	withHash.PasswordHash = "h1"

	lookups := []struct {
		name   string
		status int
		answer string
		call   func(*Client) (Account, error)
		want   Account
		err    error
	}{
		{"by id keeps the hash", 200, full, func(c *Client) (Account, error) { return c.AccountByID(ctx, "u-1") }, withHash, nil},
		{"by email drops a hash sent anyway", 200, full, func(c *Client) (Account, error) { return c.AccountByEmail(ctx, "a@example.com") }, acct, nil},
		{"by user name drops a hash sent anyway", 200, full, func(c *Client) (Account, error) { return c.AccountByUsername(ctx, "a") }, acct, nil},
		{"not found", 200, `{"account":null}`, func(c *Client) (Account, error) { return c.AccountByEmail(ctx, "x@example.com") }, Account{}, nil},
		{"ambiguous", 409, `{"error":"ambiguous"}`, func(c *Client) (Account, error) { return c.AccountByEmail(ctx, "x@example.com") }, Account{}, ErrAmbiguous},
	}
	for _, tt := range lookups {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, &hook{respond: answerWith(tt.status, tt.answer)}, Config{})
			got, err := tt.call(c)
			if got != tt.want || !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Errorf("answer %d %s: got %+v, %v; want %+v, %v", tt.status, tt.answer, got, err, tt.want, tt.err)
			}
		})
	}

	t.Run("set password: version moved", func(t *testing.T) {
		c := newTestClient(t, &hook{respond: answerWith(409, `{"error":"version_moved"}`)}, Config{})
		if _, err := c.SetPassword(ctx, "u-1", "h", 1); !errors.Is(err, ErrVersionMoved) {
			t.Errorf("409 version_moved: %v, want ErrVersionMoved", err)
		}
	})
	t.Run("a 409 with another word is a failure", func(t *testing.T) {
		c := newTestClient(t, &hook{respond: answerWith(409, `{"error":"ambiguous"}`)}, Config{})
		_, err := c.SetPassword(ctx, "u-1", "h", 1)
		var he *HookError
		if !errors.As(err, &he) || he.Status != 409 {
			t.Errorf("409 ambiguous to set-password: %v, want a *HookError with status 409", err)
		}
	})
	t.Run("404 is a failure, not an unknown account", func(t *testing.T) {
		c := newTestClient(t, &hook{respond: answerWith(404, `not found`)}, Config{})
		_, err := c.AccountByEmail(ctx, "a@example.com")
		var he *HookError
		if !errors.As(err, &he) || he.Status != 404 || he.Call != "lookup" {
			t.Errorf("404: %v, want a *HookError for lookup with status 404", err)
		}
	})
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		respond  func(int, http.ResponseWriter, *http.Request)
		retries  int
		attempts int
		ok       bool
	}{
		{"500 retried twice, then given up", answerWith(500, ""), 0, 3, false},
		{"503 retried as configured", answerWith(503, ""), 4, 5, false},
		{"429 retried", answerWith(429, ""), 0, 3, false},
		{"400 not retried", answerWith(400, ""), 0, 1, false},
		{"409 not retried", answerWith(409, `{"error":"version_moved"}`), 0, 1, false},
		{"302 not followed nor retried", func(_ int, w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Location", "/elsewhere")
			w.WriteHeader(302)
		}, 0, 1, false},
		{"no retries when told none", answerWith(500, ""), -1, 1, false},
		{"a 500 then an answer", func(attempt int, w http.ResponseWriter, _ *http.Request) {
			if attempt == 1 {
				w.WriteHeader(500)
				return
			}
			io.WriteString(w, `{"version":8}`)
		}, 0, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &hook{respond: tt.respond}
			c := newTestClient(t, h, Config{Retries: tt.retries})
			_, err := c.SetPassword(ctx, "u-1", secretHash, 7)
			if (err == nil) != tt.ok {
				t.Errorf("SetPassword: %v, want ok %v", err, tt.ok)
			}
			if got := h.count(); got != tt.attempts {
				t.Errorf("%d attempts, want %d", got, tt.attempts)
			}
			var he *HookError
			if err != nil && errors.As(err, &he) && he.Attempts != tt.attempts {
				t.Errorf("HookError.Attempts = %d, want %d", he.Attempts, tt.attempts)
			}
			// Every retry is the same call: same id, same body, each
			// signed afresh.
			for i, r := range h.requests {
				if r.id != h.requests[0].id || r.body != h.requests[0].body || r.verified != nil {
					t.Errorf("attempt %d: id %s body %s verify %v; want attempt 1's id and body, verified", i+1, r.id, r.body, r.verified)
				}
			}
		})
	}
}

func TestTimeouts(t *testing.T) {
	// slow answers only once the client has stopped waiting.
	slow := func(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

	t.Run("each attempt times out, then retried", func(t *testing.T) {
		h := &hook{respond: slow}
		c := newTestClient(t, h, Config{AttemptTimeout: 50 * time.Millisecond})
		start := time.Now()
		err := c.EndSessions(context.Background(), "u-1")
		elapsed := time.Since(start)
		var he *HookError
		if !errors.As(err, &he) || he.Status != 0 || he.Attempts != 3 {
			t.Fatalf("EndSessions on a hook that never answers: %v, want a *HookError of 3 attempts without a status", err)
		}
		if h.count() != 3 {
			t.Errorf("%d attempts, want 3", h.count())
		}
		if elapsed > time.Second {
			t.Errorf("took %s for 3 attempts of 50ms", elapsed)
		}
	})

	t.Run("no attempt past the deadline less the margin", func(t *testing.T) {
		h := &hook{respond: slow}
		c := newTestClient(t, h, Config{AttemptTimeout: 2 * time.Second, DeadlineMargin: 200 * time.Millisecond})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.AccountByID(ctx, "u-1")
		elapsed := time.Since(start)
		if err == nil {
			t.Fatal("AccountByID on a hook that never answers: no error")
		}
		// 500ms less the 200ms margin: done by about 300ms, well before
		// the caller's own deadline.
		if elapsed > 450*time.Millisecond {
			t.Errorf("gave up after %s, want by the deadline less the margin (300ms)", elapsed)
		}
		if ctx.Err() != nil {
			t.Errorf("the caller's context ended before the client returned")
		}
		if h.count() != 1 {
			t.Errorf("%d attempts, want 1: no time for another", h.count())
		}
	})

	t.Run("deadline already within the margin: nothing sent", func(t *testing.T) {
		h := &hook{respond: answerWith(200, `{"account":null}`)}
		c := newTestClient(t, h, Config{DeadlineMargin: time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.AccountByID(ctx, "u-1")
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("AccountByID with 500ms left and a 1s margin: %v, want a DeadlineExceeded", err)
		}
		if h.count() != 0 {
			t.Errorf("%d requests sent, want none", h.count())
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		h := &hook{respond: slow}
		c := newTestClient(t, h, Config{})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		if err := c.EndSessions(ctx, "u-1"); !errors.Is(err, context.Canceled) {
			t.Errorf("EndSessions cancelled: %v, want context.Canceled", err)
		}
	})
}

// TestErrorsCarryNoSecrets: whatever goes wrong, the error names the call
// and the status and not the hash, the email, the secret or what the hook
// answered.
func TestErrorsCarryNoSecrets(t *testing.T) {
	echoBody := func(status int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"error": string(body), "secret": vectorSecret})
		})
	}
	ctx := context.Background()
	for _, status := range []int{200, 400, 409, 500} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			c := newTestClient(t, echoBody(status), Config{})
			_, err1 := c.SetPassword(ctx, "u-1", secretHash, 7)
			_, err2 := c.AccountByEmail(ctx, secretEmail)
			if err1 == nil {
				t.Fatalf("status %d echoing the request to set-password: no error", status)
			}
			if err2 == nil && status != 200 {
				t.Fatalf("status %d echoing the request to lookup: no error", status)
			}
			for _, err := range []error{err1, err2} {
				if err == nil {
					continue // 200 to a lookup: an answer (no account), not an error
				}
				for _, s := range []string{secretHash, "argon2id", secretEmail, "MfKQ9r8", "whsec_"} {
					if strings.Contains(strings.ToLower(err.Error()), strings.ToLower(s)) {
						t.Errorf("error %q contains %q", err, s)
					}
				}
			}
		})
	}
	t.Run("no answer", func(t *testing.T) {
		c, err := New(Config{BaseURL: "http://127.0.0.1:1/hook", Secrets: []Secret{testSecret}, Retries: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.AccountByEmail(ctx, secretEmail)
		if err == nil || strings.Contains(err.Error(), "ana.secret") {
			t.Errorf("unreachable hook: %v; want an error without the email", err)
		}
	})
}
