package password_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// rangeServer speaks Have I Been Pwned's range API over a fixed corpus of
// SHA-1 digests and their counts, adding padding lines (count 0) as the
// real API does when asked, and records every request it sees.
type rangeServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []*http.Request
	raw  []string // every request line and header, as received
}

func newRangeServer(t *testing.T, corpus map[string]int, padding []string, handle func(http.ResponseWriter, *http.Request) bool) *rangeServer {
	t.Helper()
	rs := &rangeServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.seen = append(rs.seen, r)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
		for k, vs := range r.Header {
			fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(vs, ","))
		}
		rs.raw = append(rs.raw, b.String())
		rs.mu.Unlock()
		if handle != nil && handle(w, r) {
			return
		}
		prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
		if !ok || len(prefix) != 5 || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		for digest, n := range corpus {
			if strings.HasPrefix(digest, strings.ToUpper(prefix)) {
				fmt.Fprintf(w, "%s:%d\r\n", digest[5:], n)
			}
		}
		if r.Header.Get("Add-Padding") == "true" {
			for _, s := range padding {
				fmt.Fprintf(w, "%s:0\r\n", s)
			}
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *rangeServer) requests() ([]*http.Request, []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]*http.Request(nil), rs.seen...), append([]string(nil), rs.raw...)
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestPwnedBreached(t *testing.T) {
	const (
		breached = "correct horse battery staple"
		clean    = "a password nobody has used 7f3c"
		padded   = "a password only padding names 91aa"
	)
	corpus := map[string]int{
		sha1Hex(breached): 3645,
		// Same prefix as clean, another suffix: clean must not match it.
		sha1Hex(clean)[:5] + strings.Repeat("0", 35): 12,
	}
	// A padding line with padded's exact suffix: count 0 means "no such
	// password", so it must not match.
	padding := []string{sha1Hex(padded)[5:], strings.Repeat("F", 35)}
	srv := newRangeServer(t, corpus, padding, nil)
	p := password.NewPwned(srv.URL+"/range/", 2*time.Second)

	tests := []struct {
		name  string
		plain string
		want  bool
	}{
		{"found", breached, true},
		{"not found", clean, false},
		{"only a padding line names it", padded, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := p.Breached(context.Background(), tt.plain)
			if err != nil {
				t.Fatalf("Breached(%q): error %v, want nil", tt.plain, err)
			}
			if got != tt.want {
				t.Errorf("Breached(%q) = %v, want %v", tt.plain, got, tt.want)
			}
		})
	}

	// Whatever was asked, the server saw a GET of a five-digit prefix with
	// padding requested, and never the password or more of its hash.
	reqs, raw := srv.requests()
	if len(reqs) != len(tests) {
		t.Fatalf("server saw %d requests, want %d", len(reqs), len(tests))
	}
	for i, r := range reqs {
		plain := tests[i].plain
		digest := sha1Hex(plain)
		if r.Method != http.MethodGet || r.URL.Path != "/range/"+digest[:5] || r.URL.RawQuery != "" {
			t.Errorf("request %d: %s %s, want GET /range/%s", i, r.Method, r.URL.RequestURI(), digest[:5])
		}
		if r.ContentLength > 0 {
			t.Errorf("request %d has a body of %d bytes, want none", i, r.ContentLength)
		}
		if got := r.Header.Get("Add-Padding"); got != "true" {
			t.Errorf("request %d: Add-Padding %q, want true", i, got)
		}
		text := strings.ToUpper(raw[i])
		for _, secret := range []string{strings.ToUpper(plain), digest[:6], digest[5:]} {
			if strings.Contains(text, secret) {
				t.Errorf("request %d shows the server %q:\n%s", i, secret, raw[i])
			}
		}
	}
}

// TestPwnedErrors: every way the API can fail is an error for the caller to
// fail open on, never a "found" and never an error quoting the password,
// its hash or the URL that carries the hash's prefix.
func TestPwnedErrors(t *testing.T) {
	const plain = "correct horse battery staple"
	digest := sha1Hex(plain)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tests := []struct {
		name    string
		handle  func(http.ResponseWriter, *http.Request) bool
		timeout time.Duration
		want    string // in the error
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) bool {
			http.Error(w, "down", http.StatusInternalServerError)
			return true
		}, 2 * time.Second, "status 500"},
		{"429", func(w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		}, 2 * time.Second, "status 429"},
		{"timeout", func(w http.ResponseWriter, r *http.Request) bool {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return true
		}, 100 * time.Millisecond, "Timeout"},
		{"malformed count", func(w http.ResponseWriter, _ *http.Request) bool {
			fmt.Fprintf(w, "%s:many\r\n", digest[5:])
			return true
		}, 2 * time.Second, "malformed count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newRangeServer(t, nil, nil, tt.handle)
			p := password.NewPwned(srv.URL+"/range/", tt.timeout)
			start := time.Now()
			found, err := p.Breached(context.Background(), plain)
			if err == nil || found {
				t.Fatalf("Breached = %v, %v; want false and an error", found, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want one containing %q", err, tt.want)
			}
			for _, secret := range []string{plain, digest[:5], digest[5:]} {
				if strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(secret)) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
			if d := time.Since(start); d > tt.timeout+time.Second {
				t.Errorf("Breached took %v, want at most about its timeout %v", d, tt.timeout)
			}
		})
	}

	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		base := srv.URL + "/range/"
		srv.Close()
		found, err := password.NewPwned(base, time.Second).Breached(context.Background(), plain)
		if err == nil || found {
			t.Fatalf("Breached = %v, %v; want false and an error", found, err)
		}
		if strings.Contains(strings.ToUpper(err.Error()), digest[:5]) {
			t.Errorf("error %q contains the hash prefix", err)
		}
	})
}
