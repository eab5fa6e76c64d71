package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/gateway"
)

const (
	pageLoginURL = "https://app.passreset.test/login"
	pageGood     = "violet tractor 4 pebble lantern"
	// browserAccept is what a browser sends when it submits a form.
	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	formType      = "application/x-www-form-urlencoded"
)

// pageEnv is a service whose handler serves the reset page with a login
// URL and a minimum length other than the default.
type pageEnv struct {
	*apptest.Env
	h *gateway.Handler
}

func newPageEnv(t *testing.T) *pageEnv {
	t.Helper()
	env := apptest.New(t, apptest.Settings{"MIN_PASSWORD_LENGTH": "10", "LOGIN_URL": pageLoginURL, "APP_NAME": "Example App"})
	h, err := gateway.NewWithOptions(env.Service.Flows, slog.New(slog.DiscardHandler), gateway.RouteKeys(), gateway.Options{
		AppName: env.Config.Mail.AppName, LoginURL: env.Config.LoginURL, Policy: env.Config.Password,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &pageEnv{Env: env, h: h}
}

func (e *pageEnv) send(t *testing.T, r apptest.Request) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := e.h.Handle(context.Background(), e.Event(t, r))
	if err != nil {
		t.Fatalf("%s %s: handler returned an error: %v", r.Method, r.Path, err)
	}
	return resp
}

func (e *pageEnv) open(t *testing.T, token string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return e.send(t, apptest.Request{Method: "GET", Path: "/auth/reset-password/" + token, Headers: map[string]string{"Accept": browserAccept}})
}

func (e *pageEnv) postForm(t *testing.T, path string, form url.Values) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return e.send(t, apptest.Request{Method: "POST", Path: path, Body: form.Encode(),
		Headers: map[string]string{"Content-Type": formType, "Accept": browserAccept}})
}

// linkFor mails a link to a new account and returns the account and token.
func (e *pageEnv) linkFor(t *testing.T) (apptest.Account, string) {
	t.Helper()
	a := e.AddAccount(t)
	if r := e.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
		t.Fatalf("request link: %d %s", r.Status, r.Body)
	}
	return a, e.LastToken(t, a.Email)
}

var sectionRE = regexp.MustCompile(`<section id="(\w+)"[^>]*?( hidden)?>`)

// view is the one section of the page that is not hidden.
func view(t *testing.T, body string) string {
	t.Helper()
	var shown []string
	for _, m := range sectionRE.FindAllStringSubmatch(body, -1) {
		if m[2] == "" {
			shown = append(shown, m[1])
		}
	}
	if len(shown) != 1 {
		t.Fatalf("sections shown: %q, want exactly one", shown)
	}
	return shown[0]
}

// checkPage checks what every page response must carry, the CSP hashes
// against the inline script and style included.
func checkPage(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, wantView string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status %d, want %d", resp.StatusCode, status)
	}
	for k, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"X-Robots-Tag":           "noindex, nofollow",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Headers[k]; got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	csp := resp.Headers["Content-Security-Policy"]
	for _, d := range []string{"default-src 'none'", "img-src 'self' data:", "connect-src 'self'",
		"form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy %q allows something unsafe", csp)
	}
	for _, el := range []struct{ tag, directive string }{{"script", "script-src"}, {"style", "style-src"}} {
		re := regexp.MustCompile(`(?s)<` + el.tag + `>(.*?)</` + el.tag + `>`)
		all := re.FindAllStringSubmatch(resp.Body, -1)
		if len(all) != 1 {
			t.Fatalf("%d <%s> elements, want 1", len(all), el.tag)
		}
		sum := sha256.Sum256([]byte(all[0][1]))
		want := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
		if !directiveHas(csp, el.directive, want) {
			t.Errorf("Content-Security-Policy %q: %s lacks %q, the hash of the inline %s", csp, el.directive, want, el.tag)
		}
		// Nothing else, but the bot-defence widget's origins when the page
		// carries it (captcha_test.go).
		if other := directiveSources(csp, el.directive); len(other) != 1 && !onlyWidgetOrigins(resp.Body, other[1:]) {
			t.Errorf("Content-Security-Policy %q: %s allows more than the inline %s", csp, el.directive, el.tag)
		}
	}
	for _, must := range []string{`<html lang="en">`, `name="viewport"`} {
		if !strings.Contains(resp.Body, must) {
			t.Errorf("page lacks %s", must)
		}
	}
	if strings.Contains(resp.Body, " style=") || regexp.MustCompile(` on[a-z]+=`).MatchString(resp.Body) {
		t.Error("page has an inline style or event attribute, which its CSP refuses")
	}
	if got := view(t, resp.Body); got != wantView {
		t.Errorf("view %q, want %q", got, wantView)
	}
}

// Opening a live link shows the form, states the rules from the
// configuration, writes nothing, reveals nothing, and does not count: the
// link still works after more openings than any limit allows.
func TestPageOpenLiveLink(t *testing.T) {
	e := newPageEnv(t)
	a, token := e.linkFor(t)
	e.Calls.Reset()
	resp := e.open(t, token)
	checkPage(t, resp, 200, "reset")
	for _, want := range []string{
		"10 to 128 characters long", "common password", "your email address",
		`autocomplete="new-password"`, `<label for="new_password">`, `<label for="confirm_password">`,
		`aria-live="polite"`, "Example App", `data-min-length="10"`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(resp.Body, token) || strings.Contains(resp.Body, a.Email) {
		t.Error("page shows the token or the email")
	}
	for _, op := range e.Calls.Order() {
		if op != "DynamoDB.GetItem" && op != apptest.HookLookup && op != "Cognito Identity Provider.AdminGetUser" {
			t.Errorf("opening the page called %s; want only reads (GetItem, the hook's or Cognito's lookup)", op)
		}
	}
	// More than IP_LIMIT (30) openings from one address, and the link
	// still works from it.
	for range 40 {
		if r := e.open(t, token); r.StatusCode != 200 {
			t.Fatalf("opening again: %d", r.StatusCode)
		}
	}
	r := e.Post(t, "/auth/reset-password/"+token, apptest.JSON(map[string]string{"new_password": pageGood}))
	if r.Status != 200 || !e.PasswordIs(t, a.ID, pageGood) {
		t.Errorf("reset after opening: %d %s; want 200 and the new password", r.Status, r.Body)
	}
}

// Every dead link shows the same page: plainly expired, with a form that
// asks for a new link.
func TestPageOpenDeadLink(t *testing.T) {
	e := newPageEnv(t)
	cases := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"unknown", func(t *testing.T) string { return strings.Repeat("ab", 32) }},
		{"malformed", func(t *testing.T) string { return "not-a-token" }},
		{"used", func(t *testing.T) string {
			_, token := e.linkFor(t)
			e.Post(t, "/auth/reset-password/"+token, apptest.JSON(map[string]string{"new_password": pageGood}))
			return token
		}},
		{"superseded", func(t *testing.T) string {
			a, token := e.linkFor(t)
			e.Clock.Advance(2 * time.Minute) // past MIN_SEND_INTERVAL
			e.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email}))
			if e.LastToken(t, a.Email) == token {
				t.Fatal("no new link")
			}
			return token
		}},
		{"expired", func(t *testing.T) string {
			_, token := e.linkFor(t)
			e.Clock.Advance(e.Config.Reset.LinkTTL + time.Second)
			return token
		}},
		{"password changed since", func(t *testing.T) string {
			a, token := e.linkFor(t)
			e.ChangePasswordElsewhere(t, a.ID, "changed elsewhere 1234")
			return token
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := e.open(t, c.token(t))
			checkPage(t, resp, 404, "expired")
			for _, want := range []string{"This link no longer works", `action="/auth/request-reset-password"`, `name="email"`, `autocomplete="email"`} {
				if !strings.Contains(resp.Body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

var errorRE = regexp.MustCompile(`<p id="([a-z_]+)-error" class="error"[^>]*>([^<]*)</p>`)

// fieldErrors maps each field to its inline error, where it has one.
func fieldErrors(body string) map[string]string {
	out := map[string]string{}
	for _, m := range errorRE.FindAllStringSubmatch(body, -1) {
		if m[2] != "" {
			out[m[1]] = m[2]
		}
	}
	return out
}

// The form posted without JavaScript: each outcome is a page, with the
// error inline next to its field.
func TestPageResetForm(t *testing.T) {
	e := newPageEnv(t)
	a, token := e.linkFor(t)
	path := "/auth/reset-password/" + token

	t.Run("mismatch, no flow call", func(t *testing.T) {
		e.Calls.Reset()
		resp := e.postForm(t, path, url.Values{"new_password": {pageGood}, "confirm_password": {pageGood + "x"}})
		checkPage(t, resp, 400, "reset")
		if got := fieldErrors(resp.Body); !strings.HasPrefix(got["confirm_password"], "The two passwords do not match.") || len(got) != 1 {
			t.Errorf("errors %q, want only the mismatch on confirm_password", got)
		}
		if !strings.Contains(resp.Body, `id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required aria-describedby="confirm_password-error" aria-invalid="true"`) {
			t.Error("confirm_password is not marked aria-invalid")
		}
		if n := e.Calls.Total(); n != 0 {
			t.Errorf("a mismatch made %d AWS calls (%q), want none", n, e.Calls.Order())
		}
	})
	t.Run("policy rejects", func(t *testing.T) {
		resp := e.postForm(t, path, url.Values{"new_password": {"short"}, "confirm_password": {"short"}})
		checkPage(t, resp, 400, "reset")
		if got := fieldErrors(resp.Body)["new_password"]; got != "Password must be at least 10 characters." {
			t.Errorf("new_password error %q, want the policy's reason", got)
		}
	})
	t.Run("done", func(t *testing.T) {
		resp := e.postForm(t, path, url.Values{"new_password": {pageGood}, "confirm_password": {pageGood}})
		checkPage(t, resp, 200, "done")
		if !strings.Contains(resp.Body, `<p id="login"><a class="button" href="`+pageLoginURL+`">`) || !strings.Contains(resp.Body, `<p id="close" hidden>`) {
			t.Error("done page does not offer LOGIN_URL")
		}
		if !e.PasswordIs(t, a.ID, pageGood) {
			t.Error("password not changed")
		}
	})
	t.Run("used", func(t *testing.T) {
		resp := e.postForm(t, path, url.Values{"new_password": {pageGood + "2"}, "confirm_password": {pageGood + "2"}})
		checkPage(t, resp, 400, "expired")
	})
	t.Run("a field twice", func(t *testing.T) {
		resp := e.postForm(t, path, url.Values{"new_password": {pageGood, "other one 12345"}, "confirm_password": {pageGood}})
		checkPage(t, resp, 400, "reset")
	})
}

// Without a login URL the done page offers none; with the zero Options the
// page states the contract's default lengths.
func TestPageDefaults(t *testing.T) {
	env := apptest.New(t, nil)
	h, err := gateway.New(env.Service.Flows, slog.New(slog.DiscardHandler), gateway.RouteKeys())
	if err != nil {
		t.Fatal(err)
	}
	e := &pageEnv{Env: env, h: h}
	_, token := e.linkFor(t)
	resp := e.open(t, token)
	checkPage(t, resp, 200, "reset")
	if !strings.Contains(resp.Body, "8 to 128 characters long") {
		t.Error("page does not state 8 to 128 characters")
	}
	resp = e.postForm(t, "/auth/reset-password/"+token, url.Values{"new_password": {pageGood}, "confirm_password": {pageGood}})
	checkPage(t, resp, 200, "done")
	if !strings.Contains(resp.Body, `<p id="login" hidden>`) || !strings.Contains(resp.Body, `<p id="close">`) {
		t.Error("done page offers a login link without LOGIN_URL")
	}
}

// The request-a-new-link form without JavaScript: the same page whether
// or not the account exists, a mail only to one that does.
func TestPageRequestForm(t *testing.T) {
	e := newPageEnv(t)
	a := e.AddAccount(t)
	for _, email := range []string{a.Email, "nobody-page@example.test"} {
		resp := e.postForm(t, "/auth/request-reset-password", url.Values{"email": {email}})
		checkPage(t, resp, 200, "sent")
		if !strings.Contains(resp.Body, "If an account exists for that address, we sent a new link.") {
			t.Error("sent page lacks its sentence")
		}
	}
	if n := len(e.MailsTo(t, a.Email)); n != 1 {
		t.Errorf("%d mails to the account, want 1", n)
	}
	resp := e.postForm(t, "/auth/request-reset-password", url.Values{"email": {"not an address"}})
	checkPage(t, resp, 400, "expired")
	if got := fieldErrors(resp.Body)["email"]; got == "" {
		t.Error("no inline error on email")
	}
}

// A urlencoded body from a client that does not ask for HTML keeps the
// contract's JSON answer, byte for byte.
func TestPageOnlyForBrowsers(t *testing.T) {
	e := newPageEnv(t)
	_, token := e.linkFor(t)
	for _, path := range []string{"/auth/reset-password/" + token, "/auth/request-reset-password"} {
		for _, accept := range []string{"", "application/json", "*/*", "text/html;q=0"} {
			resp := e.send(t, apptest.Request{Method: "POST", Path: path, Body: "new_password=x&email=a%40b.test",
				Headers: map[string]string{"Content-Type": formType, "Accept": accept}})
			if resp.StatusCode != 400 || resp.Body != `{"error":"Invalid request body"}` || resp.Headers["Content-Type"] != "application/json" {
				t.Errorf("POST %s urlencoded, Accept %q: %d %s %q; want the JSON 400", path, accept, resp.StatusCode, resp.Body, resp.Headers["Content-Type"])
			}
		}
	}
}
