package apigwtest_test

import (
	"encoding/base64"
	"maps"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
)

func TestMatch(t *testing.T) {
	keys := gateway.RouteKeys()
	tests := []struct {
		name, method, path string
		want               string // "" for no match
		params             map[string]string
	}{
		{"literal beats parameter", "POST", "/auth/reset-password", "POST /auth/reset-password", map[string]string{}},
		{"email route", "POST", "/a@b.test/reset-password", "POST /{email}/reset-password", map[string]string{"email": "a@b.test"}},
		{"email decoded", "POST", "/a%40b.test/reset-password", "POST /{email}/reset-password", map[string]string{"email": "a@b.test"}},
		{"email decoded once", "POST", "/a%2540b.test/reset-password", "POST /{email}/reset-password", map[string]string{"email": "a%40b.test"}},
		{"token route", "POST", "/auth/reset-password/abc123", "POST /auth/reset-password/{token}", map[string]string{"token": "abc123"}},
		{"otp", "POST", "/auth/otp", "POST /auth/otp", map[string]string{}},
		{"seed 000 reset", "POST", "/reset-password", "POST /reset-password", map[string]string{}},
		{"forgot POST", "POST", "/auth/forgot-password", "POST /auth/forgot-password", map[string]string{}},
		{"forgot PUT", "PUT", "/auth/forgot-password", "PUT /auth/forgot-password", map[string]string{}},
		{"wrong method", "GET", "/auth/otp", "", nil},
		{"lower-case method", "post", "/auth/otp", "", nil},
		{"DELETE on forgot", "DELETE", "/auth/forgot-password", "", nil},
		{"too many segments", "POST", "/auth/otp/extra", "", nil},
		{"too few segments", "POST", "/auth", "", nil},
		{"trailing slash", "POST", "/auth/otp/", "", nil},
		{"empty parameter", "POST", "//reset-password", "", nil},
		{"empty token", "POST", "/auth/reset-password/", "", nil},
		{"unknown path", "POST", "/admin", "", nil},
		{"root", "POST", "/", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, params, ok := apigwtest.Match(keys, tt.method, tt.path)
			if ok != (tt.want != "") || got != tt.want {
				t.Fatalf("Match(%s %s) = %q, %v; want %q, %v", tt.method, tt.path, got, ok, tt.want, tt.want != "")
			}
			if ok && !maps.Equal(params, tt.params) {
				t.Errorf("Match(%s %s) params = %q; want %q", tt.method, tt.path, params, tt.params)
			}
		})
	}
	// The order of the keys does not decide.
	reversed := slices.Clone(keys)
	slices.Reverse(reversed)
	if got, _, _ := apigwtest.Match(reversed, "POST", "/auth/reset-password"); got != "POST /auth/reset-password" {
		t.Errorf("Match(reversed keys, POST /auth/reset-password) = %q; want the literal route", got)
	}
}

// TestEventFor: the event carries the request as API Gateway gives it: the
// raw path and query, headers lower-cased with repeats joined, the source
// IP of the connection (never a header), and a body that is not UTF-8
// base64-encoded.
func TestEventFor(t *testing.T) {
	r := httptest.NewRequest("POST", "https://api.passreset.test/a%40b.test/reset-password?x=1", strings.NewReader(""))
	r.Header.Add("X-Forwarded-For", "203.0.113.9")
	r.Header.Add("Accept", "text/html")
	r.Header.Add("Accept", "application/json")
	r.Header.Set("User-Agent", "device/1")
	const key = "POST /{email}/reset-password"
	params := map[string]string{"email": "a@b.test"}

	ev := apigwtest.EventFor(r, key, params, []byte(`{"otp":"123456"}`), "198.51.100.7")
	for _, c := range []struct{ field, got, want string }{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, key},
		{"requestContext.routeKey", ev.RequestContext.RouteKey, key},
		{"requestContext.stage", ev.RequestContext.Stage, "$default"},
		{"rawPath", ev.RawPath, "/a%40b.test/reset-password"},
		{"rawQueryString", ev.RawQueryString, "x=1"},
		{"headers.accept", ev.Headers["accept"], "text/html,application/json"},
		{"requestContext.http.method", ev.RequestContext.HTTP.Method, "POST"},
		{"requestContext.http.path", ev.RequestContext.HTTP.Path, "/a@b.test/reset-password"},
		{"requestContext.http.sourceIp", ev.RequestContext.HTTP.SourceIP, "198.51.100.7"},
		{"requestContext.http.userAgent", ev.RequestContext.HTTP.UserAgent, "device/1"},
		{"body", ev.Body, `{"otp":"123456"}`},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.field, c.got, c.want)
		}
	}
	if !maps.Equal(ev.PathParameters, params) || ev.IsBase64Encoded || ev.RequestContext.RequestID == "" {
		t.Errorf("pathParameters %v, isBase64Encoded %v, requestId %q; want %v, false, an id", ev.PathParameters, ev.IsBase64Encoded, ev.RequestContext.RequestID, params)
	}

	binary := []byte{0xff, 0xfe, 'a'}
	ev = apigwtest.EventFor(r, key, params, binary, "198.51.100.7")
	if !ev.IsBase64Encoded || ev.Body != base64.StdEncoding.EncodeToString(binary) {
		t.Errorf("a body that is not UTF-8: got %q (base64 %v), want it base64-encoded", ev.Body, ev.IsBase64Encoded)
	}
}

// TestFunctionsDoNotLinkIt: the functions' binaries hold only what runs in
// AWS, where API Gateway builds the events.
func TestFunctionsDoNotLinkIt(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot list the functions' dependencies")
	}
	const self = "github.com/passreset/passreset/pkg/gateway/apigwtest"
	// The tags are the Makefile's, which builds the functions.
	out, err := exec.Command(goTool, "list", "-tags", "lambda.norpc", "-deps", "-f", "{{.ImportPath}}", "github.com/passreset/passreset/functions/...").Output()
	if err != nil {
		t.Fatalf("go list the functions' dependencies: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/passreset/passreset/pkg/gateway") {
		t.Fatalf("the functions' dependencies lack pkg/gateway: is the list right?\n%s", out)
	}
	if slices.Contains(deps, self) {
		t.Errorf("a function links %s; it is for the dev server and tests only", self)
	}
}
