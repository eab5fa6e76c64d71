package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/reset"
)

// TestServerRoutesAreTheFunctions: every route of gateway.FunctionRoutes
// (which pkg/deploy's tests hold template.yaml to) is served, by the
// handler of its function: the service log names the function, as
// CloudWatch's log group would.
func TestServerRoutesAreTheFunctions(t *testing.T) {
	var logged bytes.Buffer
	s, err := NewServer(&recorder{}, gateway.Options{}, slog.New(slog.NewJSONHandler(&syncWriter{w: &logged}, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.keys, gateway.RouteKeys()) {
		t.Errorf("route keys: got %v, want %v (gateway.RouteKeys)", s.keys, gateway.RouteKeys())
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	params := strings.NewReplacer("{email}", "user%40example.com", "{token}", strings.Repeat("ab", 32))
	want := map[string]string{} // route key -> function
	for fn, keys := range gateway.FunctionRoutes() {
		for _, key := range keys {
			want[key] = fn
			method, path, _ := strings.Cut(key, " ")
			if status, _, body := post(t, method, ts.URL+params.Replace(path), `{}`, nil); status == http.StatusNotFound {
				t.Errorf("%s: got 404 %s, want its function's answer", key, body)
			}
		}
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var l struct{ Function, Route string }
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("service log line %q: %v", line, err)
		}
		got[l.Route] = l.Function
	}
	if !maps.Equal(got, want) {
		t.Errorf("functions by the routes they logged:\n got %v\nwant %v (gateway.FunctionRoutes())", got, want)
	}
}

// recorder is a gateway.Flows that records what reached it.
type recorder struct {
	mu   sync.Mutex
	ips  []string
	ua   []string
	link []reset.LinkReset
}

func (r *recorder) RequestCode(_ context.Context, req reset.CodeRequest) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ips, r.ua = append(r.ips, req.IP), append(r.ua, req.Device)
	return nil
}

func (r *recorder) ResetWithCode(context.Context, reset.CodeReset) error { return reset.ErrInvalidCode }
func (r *recorder) RequestLink(context.Context, reset.LinkRequest) error { return nil }
func (r *recorder) CheckLink(context.Context, reset.Token) error         { return nil }
func (r *recorder) VerifyCode(context.Context, reset.CodeCheck) (reset.Grant, error) {
	return reset.Grant{}, reset.ErrInvalidCode
}
func (r *recorder) ResetWithGrant(context.Context, reset.GrantReset) error {
	return reset.ErrInvalidToken
}
func (r *recorder) ResetWithLink(_ context.Context, req reset.LinkReset) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.link = append(r.link, req)
	return nil
}

func newTestServer(t *testing.T) (*httptest.Server, *recorder, *bytes.Buffer) {
	t.Helper()
	flows := &recorder{}
	var access bytes.Buffer
	s, err := NewServer(flows, gateway.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)), &syncWriter{w: &access})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, flows, &access
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func post(t *testing.T, method, url, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestServerSourceIPIsThePeer(t *testing.T) {
	ts, flows, _ := newTestServer(t)
	status, h, body := post(t, "POST", ts.URL+"/generate-otp", `{"email":"a@example.com"}`, map[string]string{
		"X-Forwarded-For": "203.0.113.9", "Forwarded": "for=203.0.113.9", "X-Real-Ip": "203.0.113.9",
		"User-Agent": "device/1",
	})
	if status != 200 || body != `{"message":"OTP generated and sent"}` {
		t.Fatalf("got %d %s", status, body)
	}
	if h.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control: got %q, want no-store", h.Get("Cache-Control"))
	}
	if len(flows.ips) != 1 || flows.ips[0] != "127.0.0.1" {
		t.Errorf("source IPs: got %v, want [127.0.0.1] (the connection's peer, never a header)", flows.ips)
	}
	if len(flows.ua) != 1 || flows.ua[0] != "device/1" {
		t.Errorf("devices: got %v, want [device/1]", flows.ua)
	}
}

func TestServerRoutes(t *testing.T) {
	ts, flows, access := newTestServer(t)
	token := strings.Repeat("ab", 32)
	for _, c := range []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"path parameter", "POST", "/auth/reset-password/" + token, `{"new_password":"a new long one"}`, 200, `{"message":"Password has been reset"}`},
		{"encoded email in path", "POST", "/user%40example.com/reset-password", `{"otp":"123456","new_password":"a new long one"}`, 400, `{"success":false,"message":"Invalid or expired OTP."}`},
		{"PUT of the same path", "PUT", "/auth/forgot-password", `{}`, 400, `{"message":"Either userName or userEmail must be provided!","status":400}`},
		{"no route", "GET", "/auth/otp", ``, 404, `{"message":"Not Found"}`},
		{"unknown path", "POST", "/admin", `{}`, 404, `{"message":"Not Found"}`},
		{"body over 16 KiB", "POST", "/generate-otp", `{"email":"` + strings.Repeat("a", 16<<10) + `@example.com"}`, 400, `{"message":"Email is required"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := post(t, c.method, ts.URL+c.path, c.body, nil)
			if status != c.status || body != c.want {
				t.Errorf("%s %s: got %d %s, want %d %s", c.method, c.path, status, body, c.status, c.want)
			}
		})
	}
	if len(flows.link) != 1 || string(flows.link[0].Token) != token {
		t.Errorf("link resets: got %d, want the one with the path's token", len(flows.link))
	}
	log := access.String()
	if strings.Contains(log, token) || strings.Contains(log, "example.com") {
		t.Errorf("the request log holds a secret or an address:\n%s", log)
	}
	if !strings.Contains(log, "POST /auth/reset-password/{token} -> 200 (") {
		t.Errorf("the request log lacks the route key line:\n%s", log)
	}
}
