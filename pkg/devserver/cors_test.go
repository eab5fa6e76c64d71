package devserver

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/reset"
)

const (
	frontEnd = "http://localhost:5173"     // in ALLOWED_ORIGINS
	apiOwn   = "http://api.passreset.test" // API_URL's origin
	foreign  = "https://attacker.example"  // in neither
)

// counting is a gateway.Flows that counts the flows run; RequestCode
// answers with limited when it is set.
type counting struct {
	mu      sync.Mutex
	runs    int
	limited error
}

func (c *counting) run() {
	c.mu.Lock()
	c.runs++
	c.mu.Unlock()
}

func (c *counting) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.runs
}

func (c *counting) RequestCode(context.Context, reset.CodeRequest) error { c.run(); return c.limited }
func (c *counting) ResetWithCode(context.Context, reset.CodeReset) error { c.run(); return nil }
func (c *counting) RequestLink(context.Context, reset.LinkRequest) error { c.run(); return nil }
func (c *counting) CheckLink(context.Context, reset.Token) error         { c.run(); return nil }
func (c *counting) ResetWithLink(context.Context, reset.LinkReset) error { c.run(); return nil }
func (c *counting) VerifyCode(context.Context, reset.CodeCheck) (reset.Grant, error) {
	c.run()
	return reset.Grant{}, nil
}
func (c *counting) ResetWithGrant(context.Context, reset.GrantReset) error { c.run(); return nil }

// corsServer is the dev server with ALLOWED_ORIGINS=origins and API_URL
// apiOwn.
func corsServer(t *testing.T, origins ...string) (*httptest.Server, *counting) {
	t.Helper()
	flows := &counting{}
	opts := gateway.Options{AllowedOrigins: origins, APIURL: apiOwn + "/"}
	s, err := NewServer(flows, opts, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts, flows
}

// send makes one request and returns the response and its body, read.
func send(t *testing.T, method, url, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// corsHeaders are the response's Access-Control-* headers.
func corsHeaders(h http.Header) map[string]string {
	got := map[string]string{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			got[k] = strings.Join(v, ", ")
		}
	}
	return got
}

func sameHeaders(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestCORSPreflight: API Gateway answers a preflight itself, 204 and no
// body, on any path; only an allowed origin gets CORS headers. Without a
// CorsConfiguration (no ALLOWED_ORIGINS) an OPTIONS is routed, and no route
// takes it.
func TestCORSPreflight(t *testing.T) {
	allowed := map[string]string{
		"Access-Control-Allow-Origin":  frontEnd,
		"Access-Control-Allow-Methods": "GET,POST,PUT",
		"Access-Control-Allow-Headers": "Content-Type",
		"Access-Control-Max-Age":       "600",
	}
	none := map[string]string{}
	preflight := func(origin, method string) map[string]string {
		return map[string]string{"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": "content-type"}
	}
	tests := []struct {
		name     string
		origins  []string
		path     string
		headers  map[string]string
		status   int
		wantCORS map[string]string
		wantBody string
	}{
		{"allowed origin", []string{frontEnd}, "/auth/otp", preflight(frontEnd, "POST"), 204, allowed, ""},
		{"allowed origin, PUT", []string{frontEnd}, "/auth/forgot-password", preflight(frontEnd, "PUT"), 204, allowed, ""},
		{"allowed origin, path parameter", []string{"https://app.example.com", frontEnd}, "/a%40example.com/reset-password", preflight(frontEnd, "POST"), 204, allowed, ""},
		{"allowed origin, no route", []string{frontEnd}, "/no/such/route", preflight(frontEnd, "POST"), 204, allowed, ""},
		{"other origin", []string{frontEnd}, "/auth/otp", preflight(foreign, "POST"), 204, none, ""},
		{"the API's own origin, not in ALLOWED_ORIGINS", []string{frontEnd}, "/auth/otp", preflight(apiOwn, "POST"), 204, none, ""},
		{"origin null", []string{frontEnd}, "/auth/otp", preflight("null", "POST"), 204, none, ""},
		{"same host, other port", []string{frontEnd}, "/auth/otp", preflight("http://localhost:5174", "POST"), 204, none, ""},
		{"trailing slash is another origin", []string{frontEnd}, "/auth/otp", preflight(frontEnd+"/", "POST"), 204, none, ""},
		{"no CORS configured", nil, "/auth/otp", preflight(frontEnd, "POST"), 404, none, `{"message":"Not Found"}`},
		{"OPTIONS without Access-Control-Request-Method", []string{frontEnd}, "/auth/otp", map[string]string{"Origin": frontEnd}, 404, allowedActual(), `{"message":"Not Found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, flows := corsServer(t, tt.origins...)
			resp, body := send(t, "OPTIONS", ts.URL+tt.path, "", tt.headers)
			if resp.StatusCode != tt.status || body != tt.wantBody {
				t.Errorf("OPTIONS %s with %v: got %d %q, want %d %q", tt.path, tt.headers, resp.StatusCode, body, tt.status, tt.wantBody)
			}
			if got := corsHeaders(resp.Header); !sameHeaders(got, tt.wantCORS) {
				t.Errorf("OPTIONS %s with %v: CORS headers %v, want %v", tt.path, tt.headers, got, tt.wantCORS)
			}
			if n := flows.count(); n != 0 {
				t.Errorf("OPTIONS %s ran %d flows, want none", tt.path, n)
			}
		})
	}
}

// allowedActual are the CORS headers of an actual answer to frontEnd.
func allowedActual() map[string]string {
	return map[string]string{"Access-Control-Allow-Origin": frontEnd, "Access-Control-Expose-Headers": "Retry-After"}
}

// TestCORSActualAnswers: every answer to an allowed origin carries
// Access-Control-Allow-Origin and exposes Retry-After (a 429's included);
// no other origin gets a CORS header, and a POST or PUT from one is refused
// by the function before any flow runs.
func TestCORSActualAnswers(t *testing.T) {
	token := strings.Repeat("ab", 32)
	tests := []struct {
		name                 string
		origins              []string
		method, path, origin string
		body                 string
		status               int
		wantBody             string // "" for any
		wantCORS             map[string]string
		runs                 int
	}{
		{"allowed origin", []string{frontEnd}, "POST", "/generate-otp", frontEnd, `{"email":"a@example.com"}`,
			200, `{"message":"OTP generated and sent"}`, allowedActual(), 1},
		{"allowed origin, PUT", []string{frontEnd}, "PUT", "/auth/forgot-password", frontEnd, `{}`,
			400, `{"message":"Either userName or userEmail must be provided!","status":400}`, allowedActual(), 0},
		{"allowed origin, no route", []string{frontEnd}, "POST", "/admin", frontEnd, `{}`,
			404, `{"message":"Not Found"}`, allowedActual(), 0},
		{"the API's own origin", []string{frontEnd}, "POST", "/auth/request-reset-password", apiOwn, `{"email":"a@example.com"}`,
			200, `{"message":"Reset link sent"}`, map[string]string{}, 1},
		{"no Origin (curl)", []string{frontEnd}, "POST", "/auth/otp", "", `{"action":"create","email":"a@example.com"}`,
			200, `{"success":true,"message":"Successfully sent OTP."}`, map[string]string{}, 1},
		{"other origin, family 0", []string{frontEnd}, "POST", "/generate-otp", foreign, `{"email":"a@example.com"}`,
			403, `{"message":"Origin not allowed."}`, map[string]string{}, 0},
		{"other origin, family N", []string{frontEnd}, "POST", "/auth/otp", foreign, `{"action":"create","email":"a@example.com"}`,
			403, `{"success":false,"message":"Origin not allowed."}`, map[string]string{}, 0},
		{"other origin, family L", []string{frontEnd}, "POST", "/auth/reset-password/" + token, foreign, `{"new_password":"a long new one"}`,
			403, `{"error":"Origin not allowed."}`, map[string]string{}, 0},
		{"other origin, family E", []string{frontEnd}, "PUT", "/auth/forgot-password", foreign, `{"userEmail":"a@example.com","otp":"123456","newPassword":"a long new one"}`,
			403, `{"message":"Origin not allowed.","status":403}`, map[string]string{}, 0},
		{"origin null", []string{frontEnd}, "POST", "/generate-otp", "null", `{"email":"a@example.com"}`,
			403, `{"message":"Origin not allowed."}`, map[string]string{}, 0},
		{"no CORS configured, a front end's POST", nil, "POST", "/generate-otp", frontEnd, `{"email":"a@example.com"}`,
			403, `{"message":"Origin not allowed."}`, map[string]string{}, 0},
		{"other origin, GET of the reset page", []string{frontEnd}, "GET", "/auth/reset-password/" + token, foreign, ``,
			200, "", map[string]string{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, flows := corsServer(t, tt.origins...)
			headers := map[string]string{"Content-Type": "application/json"}
			if tt.origin != "" {
				headers["Origin"] = tt.origin
			}
			resp, body := send(t, tt.method, ts.URL+tt.path, tt.body, headers)
			if resp.StatusCode != tt.status || (tt.wantBody != "" && body != tt.wantBody) {
				t.Errorf("%s %s from %q: got %d %s, want %d %s", tt.method, tt.path, tt.origin, resp.StatusCode, body, tt.status, tt.wantBody)
			}
			if got := corsHeaders(resp.Header); !sameHeaders(got, tt.wantCORS) {
				t.Errorf("%s %s from %q: CORS headers %v, want %v", tt.method, tt.path, tt.origin, got, tt.wantCORS)
			}
			if len(tt.wantCORS) > 0 && !slices.Contains(resp.Header.Values("Vary"), "Origin") {
				t.Errorf("%s %s from %q: Vary %q, want Origin", tt.method, tt.path, tt.origin, resp.Header.Values("Vary"))
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s %s from %q: Cache-Control %q, want no-store", tt.method, tt.path, tt.origin, got)
			}
			if n := flows.count(); n != tt.runs {
				t.Errorf("%s %s from %q: %d flows ran, want %d", tt.method, tt.path, tt.origin, n, tt.runs)
			}
		})
	}
}

// TestCORSExposesRetryAfter: a script on an allowed origin can read a
// 429's Retry-After, because the answer exposes it.
func TestCORSExposesRetryAfter(t *testing.T) {
	ts, flows := corsServer(t, frontEnd)
	flows.limited = &reset.LimitError{Err: reset.ErrRateLimited, RetryAfter: 42 * time.Second}
	resp, body := send(t, "POST", ts.URL+"/auth/otp", `{"action":"create","email":"a@example.com"}`,
		map[string]string{"Content-Type": "application/json", "Origin": frontEnd})
	if resp.StatusCode != 429 {
		t.Fatalf("got %d %s, want 429", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Retry-After"); got != "42" {
		t.Errorf("Retry-After: got %q, want 42", got)
	}
	if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.EqualFold(got, "Retry-After") {
		t.Errorf("Access-Control-Expose-Headers: got %q, want Retry-After", got)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != frontEnd {
		t.Errorf("Access-Control-Allow-Origin: got %q, want %q", got, frontEnd)
	}
}

// TestCORSDropsTheFunctionsHeaders: with a CorsConfiguration, API Gateway
// ignores CORS headers the integration returns; without one it passes them.
func TestCORSDropsTheFunctionsHeaders(t *testing.T) {
	for _, name := range []string{"Access-Control-Allow-Origin", "access-control-allow-credentials", "Access-Control-Expose-Headers"} {
		if !newCORS([]string{frontEnd}).drops(name) {
			t.Errorf("with ALLOWED_ORIGINS set, a function's %s is kept, want dropped", name)
		}
		if newCORS(nil).drops(name) {
			t.Errorf("with no ALLOWED_ORIGINS, a function's %s is dropped, want kept", name)
		}
	}
	for _, name := range []string{"Content-Type", "Retry-After", "Cache-Control", "Vary"} {
		if newCORS([]string{frontEnd}).drops(name) {
			t.Errorf("a function's %s is dropped, want kept", name)
		}
	}
}

// TestCORSMatchesTemplate: the dev server answers with the CORS
// configuration template.yaml gives API Gateway (methods, headers, exposed
// headers, max age; the origins are ALLOWED_ORIGINS in both).
func TestCORSMatchesTemplate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	conf := findMapping(foldField(foldField(doc.Content[0], "Resources"), "HttpApi"), "AllowMethods")
	if conf == nil {
		t.Fatal("template.yaml's HttpApi has no CORS configuration (x-amazon-apigateway-cors or CorsConfiguration with AllowMethods)")
	}
	list := func(key string) string {
		n := foldField(conf, key)
		if n == nil {
			return ""
		}
		var vs []string
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				vs = append(vs, c.Value)
			}
		} else {
			vs = strings.Split(n.Value, ",")
		}
		for i := range vs {
			vs[i] = strings.TrimSpace(vs[i])
		}
		return strings.Join(vs, ",")
	}
	for _, c := range []struct{ key, got, want string }{
		{"AllowMethods", corsAllowMethods, list("AllowMethods")},
		{"AllowHeaders", corsAllowHeaders, list("AllowHeaders")},
		{"ExposeHeaders", corsExposeHeaders, list("ExposeHeaders")},
		{"MaxAge", corsMaxAge, list("MaxAge")},
	} {
		if !strings.EqualFold(c.got, c.want) {
			t.Errorf("%s: the dev server answers %q, template.yaml gives API Gateway %q", c.key, c.got, c.want)
		}
	}
	if _, err := strconv.Atoi(corsMaxAge); err != nil {
		t.Errorf("corsMaxAge %q is not a number of seconds", corsMaxAge)
	}
}

// findMapping is the first mapping under n (an !If's branches included)
// with key, in any case: SAM's CorsConfiguration spells it AllowMethods,
// the OpenAPI extension x-amazon-apigateway-cors allowMethods.
func findMapping(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode && foldField(n, key) != nil {
		return n
	}
	for _, c := range n.Content {
		if m := findMapping(c, key); m != nil {
			return m
		}
	}
	return nil
}

// foldField is the value of key, in any case, in the mapping n, or nil.
func foldField(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if strings.EqualFold(n.Content[i].Value, key) {
			return n.Content[i+1]
		}
	}
	return nil
}

// TestEnvironmentOrigins: make dev passes ALLOWED_ORIGINS through as the
// functions get it, and API_URL is always the dev API's own URL.
func TestEnvironmentOrigins(t *testing.T) {
	shell := map[string]string{"ALLOWED_ORIGINS": frontEnd, "API_URL": "https://api.other-project.example"}
	env := Environment(func(k string) string { return shell[k] }, "http://localhost:3000")
	if got := env("ALLOWED_ORIGINS"); got != frontEnd {
		t.Errorf("ALLOWED_ORIGINS: got %q, want %q", got, frontEnd)
	}
	if got := env("API_URL"); got != "http://localhost:3000" {
		t.Errorf("API_URL: got %q, want the dev API's own http://localhost:3000", got)
	}
	none := Environment(func(string) string { return "" }, "http://localhost:3000")
	if got := none("ALLOWED_ORIGINS"); got != "" {
		t.Errorf("ALLOWED_ORIGINS unset: got %q, want none", got)
	}
}
