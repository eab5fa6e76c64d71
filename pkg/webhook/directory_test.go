package webhook_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/webhook"
)

// standIn is a team's hook for the Directory's tests: it checks every
// request's signature with webhook.Verify, records the body, and answers
// with the status and body the test gives.
type standIn struct {
	t      *testing.T
	secret webhook.Secret
	status int
	answer string

	mu     sync.Mutex
	paths  []string
	bodies []string
}

func (h *standIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := webhook.Verify([]webhook.Secret{h.secret}, r.Header, body, time.Now()); err != nil {
		h.t.Errorf("%s: signature: %v", r.URL.Path, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.mu.Lock()
	h.paths = append(h.paths, r.URL.Path)
	h.bodies = append(h.bodies, string(body))
	h.mu.Unlock()
	w.WriteHeader(h.status)
	io.WriteString(w, h.answer)
}

// newDirectory is a Directory over a client of a fresh stand-in that
// answers status and answer, without retries.
func newDirectory(t *testing.T, status int, answer string) (*webhook.Directory, *standIn) {
	t.Helper()
	secret, err := webhook.ParseSecret("whsec_" + strings.Repeat("QUJD", 8)) // 24 bytes
	if err != nil {
		t.Fatal(err)
	}
	h := &standIn{t: t, secret: secret, status: status, answer: answer}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := webhook.New(webhook.Config{BaseURL: srv.URL + "/hook", Secrets: []webhook.Secret{secret}, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	return webhook.NewDirectory(c), h
}

const (
	hookAccount = `{"account": {"id": "u-1", "email": "Ana@example.com", "username": "ana", "verified": true, "enabled": true, "version": 7, "password_hash": "$argon2id$old"}}`
	storedHash  = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$bmV3"
	plain       = "violet tractor 4 pebble lantern"
)

func TestDirectoryLookups(t *testing.T) {
	ana := reset.Account{ID: "u-1", Email: "Ana@example.com", Username: "ana", SessionVersion: 7, Active: true}
	withHash := ana
	withHash.PasswordHash = "$argon2id$old"
	lookups := []struct {
		by   string
		find func(*webhook.Directory) (reset.Account, error)
		// value is what the lookup must send: the address lower-cased.
		value string
	}{
		{"email", func(d *webhook.Directory) (reset.Account, error) {
			return d.AccountByEmail(t.Context(), "ANA@example.com")
		}, "ana@example.com"},
		{"username", func(d *webhook.Directory) (reset.Account, error) { return d.AccountByUsername(t.Context(), "ana") }, "ana"},
		{"id", func(d *webhook.Directory) (reset.Account, error) { return d.AccountByID(t.Context(), "u-1") }, "u-1"},
	}
	tests := []struct {
		name    string
		status  int
		answer  string
		want    reset.Account // by email and user name; by id it has the hash
		wantErr error
	}{
		{name: "found", status: 200, answer: hookAccount, want: ana},
		{name: "unknown", status: 200, answer: `{"account": null}`, wantErr: reset.ErrUnknownAccount},
		{name: "ambiguous", status: 409, answer: `{"error": "ambiguous"}`, wantErr: reset.ErrAmbiguousAccount},
		{name: "unverified", status: 200, answer: strings.Replace(hookAccount, `"verified": true`, `"verified": false`, 1), want: inactive(ana)},
		{name: "disabled", status: 200, answer: strings.Replace(hookAccount, `"enabled": true`, `"enabled": false`, 1), want: inactive(ana)},
	}
	for _, l := range lookups {
		for _, tt := range tests {
			t.Run(l.by+"/"+tt.name, func(t *testing.T) {
				d, h := newDirectory(t, tt.status, tt.answer)
				got, err := l.find(d)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("got error %v, want %v", err, tt.wantErr)
				}
				want := tt.want
				if l.by == "id" && tt.wantErr == nil {
					want.PasswordHash = withHash.PasswordHash
				}
				if got != want {
					t.Errorf("got %+v, want %+v", got, want)
				}
				var req webhook.LookupRequest
				if len(h.bodies) != 1 || json.Unmarshal([]byte(h.bodies[0]), &req) != nil || h.paths[0] != "/hook"+webhook.PathLookup {
					t.Fatalf("hook saw %q at %q, want one lookup", h.bodies, h.paths)
				}
				if req != (webhook.LookupRequest{By: l.by, Value: l.value}) {
					t.Errorf("lookup sent %+v, want by %q value %q", req, l.by, l.value)
				}
			})
		}
	}
}

func inactive(a reset.Account) reset.Account { a.Active = false; return a }

// TestDirectoryLookupFailure: a hook that fails is an error the flows
// answer as a failed dependency, never an unknown account, and it names
// neither the address nor anything the hook answered.
func TestDirectoryLookupFailure(t *testing.T) {
	d, _ := newDirectory(t, 500, `{"error": "ana@example.com"}`)
	_, err := d.AccountByEmail(t.Context(), "ana@example.com")
	var hookErr *webhook.HookError
	if !errors.As(err, &hookErr) || errors.Is(err, reset.ErrUnknownAccount) {
		t.Fatalf("got %v, want a *webhook.HookError that is not ErrUnknownAccount", err)
	}
	if strings.Contains(err.Error(), "ana@") {
		t.Errorf("error %q names the address", err)
	}
}

func TestDirectorySetPassword(t *testing.T) {
	acct := reset.Account{ID: "u-1", SessionVersion: 9}
	hash := func() (string, error) { return storedHash, nil }
	tests := []struct {
		name    string
		status  int
		answer  string
		wantErr error
	}{
		{name: "applied", status: 200, answer: `{"version": 8}`},
		{name: "version moved", status: 409, answer: `{"error": "version_moved"}`, wantErr: reset.ErrAccountChanged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, h := newDirectory(t, tt.status, tt.answer)
			// version is the one read at issue time, not acct's current.
			err := d.SetPassword(t.Context(), acct, 7, plain, hash)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			var req webhook.SetPasswordRequest
			if len(h.bodies) != 1 || json.Unmarshal([]byte(h.bodies[0]), &req) != nil || h.paths[0] != "/hook"+webhook.PathSetPassword {
				t.Fatalf("hook saw %q at %q, want one set-password", h.bodies, h.paths)
			}
			if want := (webhook.SetPasswordRequest{ID: "u-1", PasswordHash: storedHash, ExpectedVersion: 7}); req != want {
				t.Errorf("sent %+v, want %+v", req, want)
			}
			if strings.Contains(h.bodies[0], plain) {
				t.Error("the plain password was sent to the hook")
			}
		})
	}

	t.Run("hook fails", func(t *testing.T) {
		d, _ := newDirectory(t, 503, `{}`)
		err := d.SetPassword(t.Context(), acct, 7, plain, hash)
		var hookErr *webhook.HookError
		if !errors.As(err, &hookErr) || errors.Is(err, reset.ErrAccountChanged) {
			t.Fatalf("got %v, want a *webhook.HookError, not ErrAccountChanged", err)
		}
		if strings.Contains(err.Error(), storedHash) {
			t.Errorf("error %q carries the hash", err)
		}
	})
	t.Run("hash fails", func(t *testing.T) {
		d, h := newDirectory(t, 200, `{"version": 8}`)
		boom := errors.New("out of memory")
		err := d.SetPassword(t.Context(), acct, 7, plain, func() (string, error) { return "", boom })
		if !errors.Is(err, boom) {
			t.Fatalf("got %v, want the hasher's error", err)
		}
		if len(h.bodies) != 0 {
			t.Errorf("the hook was called %d times without a hash", len(h.bodies))
		}
	})
}

func TestDirectoryEndSessions(t *testing.T) {
	d, h := newDirectory(t, 200, `{"ended": 2}`)
	if err := d.EndSessions(t.Context(), "u-1"); err != nil {
		t.Fatal(err)
	}
	var req webhook.EndSessionsRequest
	if len(h.bodies) != 1 || json.Unmarshal([]byte(h.bodies[0]), &req) != nil || h.paths[0] != "/hook"+webhook.PathEndSessions || req.ID != "u-1" {
		t.Fatalf("hook saw %q at %q, want one end-sessions of u-1", h.bodies, h.paths)
	}

	d, _ = newDirectory(t, 500, `{}`)
	var hookErr *webhook.HookError
	if err := d.EndSessions(t.Context(), "u-1"); !errors.As(err, &hookErr) {
		t.Fatalf("failing hook: got %v, want a *webhook.HookError", err)
	}
}
