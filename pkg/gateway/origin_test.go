package gateway_test

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
)

// The origins of the tests: a front end in ALLOWED_ORIGINS, the API's own
// (API_URL's), and a site in neither.
const (
	originFrontEnd = "https://app.example.test"
	settingAPIURL  = "https://api.passreset.test/"
	originAPI      = "https://api.passreset.test"
	originAttacker = "https://attacker.example"
)

// newOriginEnv is a service whose handler has the edge's options from its
// configuration, as the functions and make dev build it.
func newOriginEnv(t *testing.T, settings apptest.Settings) *apptest.Env {
	t.Helper()
	settings["IP_LIMIT"] = "1000" // many sends from one address in one test
	env := apptest.New(t, settings)
	h, err := gateway.NewWithOptions(env.Service.Flows, slog.New(slog.DiscardHandler), gateway.RouteKeys(), function.PageOptions(env.Config))
	if err != nil {
		t.Fatal(err)
	}
	env.Handler = h
	return env
}

// mailRoute is a route that mails, with its body for an email and its
// answer when it sends.
type mailRoute struct {
	family, method, path string
	body                 func(email string) string
	status               int
	refused              string // the 403's body
}

var mailRoutes = []mailRoute{
	{"N", "POST", "/auth/otp", func(e string) string { return apptest.JSON(map[string]string{"action": "create", "email": e}) },
		200, `{"success":false,"message":"Origin not allowed."}`},
	{"L", "POST", "/auth/request-reset-password", func(e string) string { return apptest.JSON(map[string]string{"email": e}) },
		200, `{"error":"Origin not allowed."}`},
	{"0", "POST", "/generate-otp", func(e string) string { return apptest.JSON(map[string]string{"email": e}) },
		200, `{"message":"Origin not allowed."}`},
	{"E", "POST", "/auth/forgot-password", func(e string) string { return apptest.JSON(map[string]string{"userEmail": e}) },
		201, `{"message":"Origin not allowed.","status":403}`},
}

// noCORSHeaders fails when the handler wrote a CORS header: API Gateway
// writes those, and ignores the integration's (origin.go).
func noCORSHeaders(t *testing.T, what string, headers map[string]string) {
	t.Helper()
	for k := range headers {
		if strings.HasPrefix(strings.ToLower(k), "access-control-") {
			t.Errorf("%s: the handler wrote %s; CORS headers are API Gateway's", what, k)
		}
	}
}

// TestCrossSiteRequestSendsNoMail: a send from a page on an origin that is
// neither allowed nor the API's own is answered 403 in the route's family,
// before any flow runs: no AWS call, no mail, no send counted.
func TestCrossSiteRequestSendsNoMail(t *testing.T) {
	env := newOriginEnv(t, apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd, "API_URL": settingAPIURL})
	for _, r := range mailRoutes {
		for _, origin := range []string{
			originAttacker,
			"null", // a sandboxed frame, a file: page, a redirect across sites
			originFrontEnd + ".attacker.example",
			"http://app.example.test", // the front end's host, another scheme
			"https://app.example.test:8443",
			"HTTPS://APP.EXAMPLE.TEST",            // never sent by a browser: not the same string
			originFrontEnd + "," + originAttacker, // two Origin headers, joined
			"http://api.passreset.test",
		} {
			t.Run(r.family+" "+r.path+" from "+origin, func(t *testing.T) {
				a := env.AddAccount(t)
				env.Calls.Reset()
				resp := env.Do(t, apptest.Request{Method: r.method, Path: r.path, Body: r.body(a.Email),
					Headers: map[string]string{"Origin": origin}})
				if resp.Status != 403 || resp.Body != r.refused {
					t.Errorf("%s %s from %q: got %d %s, want 403 %s", r.method, r.path, origin, resp.Status, resp.Body, r.refused)
				}
				if got := resp.Headers["Cache-Control"]; got != "no-store" {
					t.Errorf("Cache-Control: got %q, want no-store", got)
				}
				noCORSHeaders(t, r.path, resp.Headers)
				if n := env.Calls.Total(); n != 0 {
					t.Errorf("%s %s from %q made %d AWS calls (%v), want none: refused before any flow", r.method, r.path, origin, n, env.Calls.Order())
				}
				if m := env.MailsTo(t, a.Email); len(m) != 0 {
					t.Errorf("%s %s from %q: %d mails sent, want none", r.method, r.path, origin, len(m))
				}
				// Nothing was counted: the owner can ask at once.
				if resp := env.Post(t, r.path, r.body(a.Email)); resp.Status != r.status {
					t.Errorf("then without Origin: got %d %s, want %d", resp.Status, resp.Body, r.status)
				}
			})
		}
	}
}

// TestCrossSiteFormSendsNoMail: an HTML form on another site posting to
// the route that answers forms (page.go) mails no link; it gets the
// route's JSON 403, not a page.
func TestCrossSiteFormSendsNoMail(t *testing.T) {
	env := newOriginEnv(t, apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd, "API_URL": settingAPIURL})
	a := env.AddAccount(t)
	resp, err := env.Handler.Handle(context.Background(), env.Event(t, apptest.Request{
		Method: "POST", Path: "/auth/request-reset-password", Body: url.Values{"email": {a.Email}}.Encode(),
		Headers: map[string]string{"Content-Type": formType, "Accept": browserAccept, "Origin": originAttacker},
	}))
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 403 || resp.Body != `{"error":"Origin not allowed."}` || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("form from %s: got %d %s %s, want 403 application/json {\"error\":\"Origin not allowed.\"}", originAttacker, resp.StatusCode, resp.Headers["Content-Type"], resp.Body)
	}
	if m := env.MailsTo(t, a.Email); len(m) != 0 {
		t.Errorf("form from %s: %d mails sent, want none", originAttacker, len(m))
	}
}

// TestAllowedOriginsSend: the front end in ALLOWED_ORIGINS, the API's own
// origin and a request without Origin (curl, a server) are served.
func TestAllowedOriginsSend(t *testing.T) {
	env := newOriginEnv(t, apptest.Settings{"ALLOWED_ORIGINS": "http://localhost:5173," + originFrontEnd, "API_URL": settingAPIURL})
	for _, r := range mailRoutes {
		for _, origin := range []string{originFrontEnd, "http://localhost:5173", originAPI, ""} {
			t.Run(r.family+" "+r.path+" from "+origin, func(t *testing.T) {
				a := env.AddAccount(t)
				req := apptest.Request{Method: r.method, Path: r.path, Body: r.body(a.Email)}
				if origin != "" {
					req.Headers = map[string]string{"Origin": origin}
				}
				resp := env.Do(t, req)
				if resp.Status != r.status {
					t.Errorf("%s %s from %q: got %d %s, want %d", r.method, r.path, origin, resp.Status, resp.Body, r.status)
				}
				noCORSHeaders(t, r.path, resp.Headers)
				if m := env.MailsTo(t, a.Email); len(m) != 1 {
					t.Errorf("%s %s from %q: %d mails, want 1", r.method, r.path, origin, len(m))
				}
			})
		}
	}
}

// TestCrossSiteResetRefused: every route that takes a code or a link
// refuses another site's request before any flow runs, even with the
// right code and a good password: the password stays, no guess is
// counted, and the same request without Origin works after it.
func TestCrossSiteResetRefused(t *testing.T) {
	env := newOriginEnv(t, apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd, "API_URL": settingAPIURL})
	const newPassword = "a new and long passphrase"
	codeOf := func(t *testing.T, a apptest.Account) string {
		if r := env.Post(t, "/generate-otp", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
			t.Fatalf("code: %d %s", r.Status, r.Body)
		}
		return env.LastCode(t, a.Email)
	}
	linkOf := func(t *testing.T, a apptest.Account) string {
		if r := env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
			t.Fatalf("link: %d %s", r.Status, r.Body)
		}
		return env.LastToken(t, a.Email)
	}
	tests := []struct {
		name    string
		request func(t *testing.T, a apptest.Account) apptest.Request
		status  int
		refused string
	}{
		{"N validate", func(t *testing.T, a apptest.Account) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/auth/otp", Body: apptest.JSON(map[string]string{
				"action": "validate", "email": a.Email, "otp": codeOf(t, a), "new_password": newPassword})}
		}, 200, `{"success":false,"message":"Origin not allowed."}`},
		{"N email in path", func(t *testing.T, a apptest.Account) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/" + url.PathEscape(a.Email) + "/reset-password", Body: apptest.JSON(map[string]string{
				"otp": codeOf(t, a), "new_password": newPassword})}
		}, 200, `{"success":false,"message":"Origin not allowed."}`},
		{"0 reset", func(t *testing.T, a apptest.Account) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/reset-password", Body: apptest.JSON(map[string]string{
				"email": a.Email, "otp": codeOf(t, a), "newPassword": newPassword})}
		}, 200, `{"message":"Origin not allowed."}`},
		{"E reset", func(t *testing.T, a apptest.Account) apptest.Request {
			if r := env.Post(t, "/auth/forgot-password", apptest.JSON(map[string]string{"userEmail": a.Email})); r.Status != 201 {
				t.Fatalf("code: %d %s", r.Status, r.Body)
			}
			return apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Body: apptest.JSON(map[string]string{
				"userEmail": a.Email, "otp": env.LastCode(t, a.Email), "newPassword": newPassword})}
		}, 201, `{"message":"Origin not allowed.","status":403}`},
		{"L token in body", func(t *testing.T, a apptest.Account) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/auth/reset-password", Body: apptest.JSON(map[string]string{
				"token": linkOf(t, a), "new_password": newPassword})}
		}, 200, `{"error":"Origin not allowed."}`},
		{"L token in path", func(t *testing.T, a apptest.Account) apptest.Request {
			return apptest.Request{Method: "POST", Path: "/auth/reset-password/" + linkOf(t, a), Body: apptest.JSON(map[string]string{
				"new_password": newPassword})}
		}, 200, `{"error":"Origin not allowed."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := env.AddAccount(t)
			req := tt.request(t, a)
			req.Headers = map[string]string{"Origin": originAttacker}
			env.Calls.Reset()
			resp := env.Do(t, req)
			if resp.Status != 403 || resp.Body != tt.refused {
				t.Errorf("%s %s from %s: got %d %s, want 403 %s", req.Method, req.Path, originAttacker, resp.Status, resp.Body, tt.refused)
			}
			noCORSHeaders(t, req.Path, resp.Headers)
			if n := env.Calls.Total(); n != 0 {
				t.Errorf("%s %s from %s made %d AWS calls (%v), want none", req.Method, req.Path, originAttacker, n, env.Calls.Order())
			}
			if !env.PasswordIs(t, a.ID, a.Password) {
				t.Errorf("%s %s from %s changed the password", req.Method, req.Path, originAttacker)
			}
			req.Headers = nil
			if resp := env.Do(t, req); resp.Status != tt.status {
				t.Errorf("then without Origin: got %d %s, want %d (the code or link still works)", resp.Status, resp.Body, tt.status)
			}
			if !env.PasswordIs(t, a.ID, newPassword) {
				t.Errorf("then without Origin: the password was not changed")
			}
		})
	}
}

// TestResetPageOwnPostsAllowed: the reset page is served by the API and
// posts to it: with JavaScript its requests carry the API's origin, without
// (a form, under the page's no-referrer policy) Origin: null and
// Sec-Fetch-Site: same-origin; both are served. Another site's form posting
// the same fields is refused, whatever it manages to send.
func TestResetPageOwnPostsAllowed(t *testing.T) {
	env := newOriginEnv(t, apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd, "API_URL": settingAPIURL})
	handle := func(t *testing.T, r apptest.Request) events.APIGatewayV2HTTPResponse {
		t.Helper()
		resp, err := env.Handler.Handle(context.Background(), env.Event(t, r))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	link := func(t *testing.T) (apptest.Account, string) {
		a := env.AddAccount(t)
		if r := env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
			t.Fatalf("request link: %d %s", r.Status, r.Body)
		}
		return a, env.LastToken(t, a.Email)
	}
	form := url.Values{"new_password": {pageGood}, "confirm_password": {pageGood}}.Encode()

	// The page is sent with Referrer-Policy: no-referrer, under which a
	// browser posts its form with Origin: null, and Sec-Fetch-Site says
	// where from.
	pageForm := map[string]string{"Content-Type": formType, "Accept": browserAccept, "Origin": "null", "Sec-Fetch-Site": "same-origin"}
	t.Run("form from the page", func(t *testing.T) {
		a, token := link(t)
		resp := handle(t, apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token, Body: form, Headers: pageForm})
		checkPage(t, resp, 200, "done")
		if !env.PasswordIs(t, a.ID, pageGood) {
			t.Error("the password was not changed")
		}
	})
	t.Run("form from the page, a browser that names the origin", func(t *testing.T) {
		a, token := link(t)
		resp := handle(t, apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token, Body: form,
			Headers: map[string]string{"Content-Type": formType, "Accept": browserAccept, "Origin": originAPI}})
		checkPage(t, resp, 200, "done")
		if !env.PasswordIs(t, a.ID, pageGood) {
			t.Error("the password was not changed")
		}
	})
	t.Run("script of the page", func(t *testing.T) {
		a, token := link(t)
		resp := handle(t, apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token,
			Body: apptest.JSON(map[string]string{"new_password": pageGood}), Headers: map[string]string{"Origin": originAPI}})
		if resp.StatusCode != 200 || resp.Body != `{"message":"Password has been reset"}` {
			t.Errorf("got %d %s, want 200", resp.StatusCode, resp.Body)
		}
		if !env.PasswordIs(t, a.ID, pageGood) {
			t.Error("the password was not changed")
		}
	})
	t.Run("the page's new-link form", func(t *testing.T) {
		a := env.AddAccount(t)
		resp := handle(t, apptest.Request{Method: "POST", Path: "/auth/request-reset-password", Body: url.Values{"email": {a.Email}}.Encode(),
			Headers: pageForm})
		checkPage(t, resp, 200, "sent")
		if m := env.MailsTo(t, a.Email); len(m) != 1 {
			t.Errorf("%d mails, want 1", len(m))
		}
	})
	for name, headers := range map[string]map[string]string{
		"another site's form":                   {"Origin": originAttacker, "Sec-Fetch-Site": "cross-site"},
		"another site's no-referrer form":       {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
		"a sibling site's no-referrer form":     {"Origin": "null", "Sec-Fetch-Site": "same-site"},
		"a null origin, no Sec-Fetch-Site":      {"Origin": "null"},
		"another site claiming to be the API's": {"Origin": originAttacker, "Sec-Fetch-Site": "same-origin"},
	} {
		t.Run(name, func(t *testing.T) {
			a, token := link(t)
			headers["Content-Type"], headers["Accept"] = formType, browserAccept
			resp := handle(t, apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token, Body: form, Headers: headers})
			if resp.StatusCode != 403 || resp.Body != `{"error":"Origin not allowed."}` {
				t.Errorf("got %d %s, want 403", resp.StatusCode, resp.Body)
			}
			if !env.PasswordIs(t, a.ID, a.Password) {
				t.Error("the password was changed")
			}
		})
	}
	t.Run("another site may still link to the page", func(t *testing.T) {
		_, token := link(t)
		resp := handle(t, apptest.Request{Method: "GET", Path: "/auth/reset-password/" + token,
			Headers: map[string]string{"Accept": browserAccept, "Origin": originAttacker}})
		checkPage(t, resp, 200, "reset")
	})
}

// TestOriginWithoutAPIURL: with API_URL unset only ALLOWED_ORIGINS count
// for a request that carries an Origin (a same-origin "null" included), and
// with neither set every such POST is refused; requests without Origin are
// served either way.
func TestOriginWithoutAPIURL(t *testing.T) {
	for _, tt := range []struct {
		name     string
		settings apptest.Settings
		origin   string
		status   int
	}{
		{"allowed origin", apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd}, originFrontEnd, 200},
		{"the API's host, not configured", apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd}, originAPI, 403},
		{"nothing configured, an origin", apptest.Settings{}, originFrontEnd, 403},
		{"nothing configured, no origin", apptest.Settings{}, "", 200},
		{"no API_URL, a same-origin null", apptest.Settings{"ALLOWED_ORIGINS": originFrontEnd}, "null", 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := newOriginEnv(t, tt.settings)
			a := env.AddAccount(t)
			req := apptest.Request{Method: "POST", Path: "/generate-otp", Body: apptest.JSON(map[string]string{"email": a.Email})}
			if tt.origin != "" {
				req.Headers = map[string]string{"Origin": tt.origin, "Sec-Fetch-Site": "same-origin"}
			}
			resp := env.Do(t, req)
			if resp.Status != tt.status {
				t.Errorf("from %q: got %d %s, want %d", tt.origin, resp.Status, resp.Body, tt.status)
			}
			want := 0
			if tt.status == 200 {
				want = 1
			}
			if m := env.MailsTo(t, a.Email); len(m) != want {
				t.Errorf("from %q: %d mails, want %d", tt.origin, len(m), want)
			}
		})
	}
}

// TestNewRefusesBadAPIURL: the API URL is the one origin the handler
// derives itself; one it cannot read stops the start.
func TestNewRefusesBadAPIURL(t *testing.T) {
	for _, u := range []string{"api.example.com", "/relative", "ftp://api.example.com"} {
		if _, err := gateway.NewWithOptions(nil, slog.New(slog.DiscardHandler), gateway.RouteKeys(), gateway.Options{APIURL: u}); err == nil {
			t.Errorf("APIURL %q: nil error, want one", u)
		}
	}
}
