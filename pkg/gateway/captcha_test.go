package gateway_test

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/captcha"
	"github.com/passreset/passreset/pkg/captcha/captchatest"
	"github.com/passreset/passreset/pkg/gateway"
)

// The bot defence (captcha.go): with CAPTCHA_PROVIDER set, every send
// route needs a token the provider's siteverify API accepts, checked
// before any DynamoDB call; anything else is the family's "invalid body"
// 400, the provider's failures included.

const captchaSiteKey = captchatest.SiteKey

// captchaEnv is a service with the bot defence on, verifying with a
// local stand-in of the provider's API.
func captchaEnv(t *testing.T, provider string, extra apptest.Settings) (*apptest.Env, *captchatest.Server) {
	t.Helper()
	standIn := captchatest.New(t)
	s := apptest.Settings{
		"CAPTCHA_PROVIDER":   provider,
		"CAPTCHA_SITE_KEY":   captchaSiteKey,
		"CAPTCHA_SECRET":     captchatest.Secret,
		"CAPTCHA_VERIFY_URL": standIn.URL,
	}
	for k, v := range extra {
		s[k] = v
	}
	return apptest.New(t, s), standIn
}

// withToken is r's request for email with captcha_token (none when "").
func (r enumRoute) withToken(email, token string) apptest.Request {
	m := map[string]string{r.field: email}
	for k, v := range r.extra {
		m[k] = v
	}
	if token != "" {
		m["captcha_token"] = token
	}
	return apptest.Request{Method: r.method, Path: r.path, Body: apptest.JSON(m)}
}

// invalidBody is each send route's "invalid body" answer, as the contract
// words it.
var invalidBody = map[string]string{
	"N /auth/otp create":             `{"success":false,"message":"Invalid request body."}`,
	"0 /generate-otp":                `{"message":"Email is required"}`,
	"L /auth/request-reset-password": `{"error":"Invalid request body"}`,
	"E POST /auth/forgot-password":   `{"message":"Either userName or userEmail must be provided!","status":400}`,
}

// TestCaptchaSendRoutes: a good token sends as before; no token, a refused
// one, and a provider that fails are the 400, with no DynamoDB or SES call,
// so no limit moves; and the provider is asked with the secret, the token
// and API Gateway's source IP, and hCaptcha with the site key.
func TestCaptchaSendRoutes(t *testing.T) {
	t.Parallel()
	for _, provider := range []string{"turnstile", "hcaptcha"} {
		// One good send per route from one IP: had the 20 refusals
		// counted, the first route's good send would be over the limit.
		env, standIn := captchaEnv(t, provider, apptest.Settings{"IP_LIMIT": fmt.Sprint(len(enumRoutes))})
		for _, r := range enumRoutes {
			t.Run(provider+"/"+r.name, func(t *testing.T) {
				a := env.AddAccount(t)
				// More refusals than IP_LIMIT: none may count.
				for _, token := range []string{"", captchatest.Bad, captchatest.Failing, captchatest.Garbage, captchatest.Empty} {
					env.Calls.Reset()
					asked := len(standIn.Requests())
					got := env.Do(t, r.withToken(a.Email, token))
					if got.Status != 400 || got.Body != invalidBody[r.name] {
						t.Errorf("token %q: got %d %s, want 400 %s", token, got.Status, got.Body, invalidBody[r.name])
					}
					if n := env.Calls.Total(); n != 0 {
						t.Errorf("token %q: %d AWS calls (%v), want none", token, n, env.Calls.Order())
					}
					wantAsked := 1
					if token == "" {
						wantAsked = 0 // nothing to ask about
					}
					if n := len(standIn.Requests()) - asked; n != wantAsked {
						t.Errorf("token %q: provider asked %d times, want %d", token, n, wantAsked)
					}
				}
				if n := len(env.MailsTo(t, a.Email)); n != 0 {
					t.Fatalf("%d mails after refused tokens, want 0", n)
				}
				got := env.Do(t, r.withToken(a.Email, captchatest.Good))
				if got.Status >= 300 {
					t.Fatalf("good token: got %d %s, want success", got.Status, got.Body)
				}
				if n := len(env.MailsTo(t, a.Email)); n != 1 {
					t.Errorf("good token: %d mails, want 1", n)
				}
				reqs := standIn.Requests()
				last := reqs[len(reqs)-1]
				if last.Problem != "" || last.Method != "POST" || last.Secret != captchatest.Secret || last.Response != captchatest.Good || last.Remote != apptest.DefaultIP {
					t.Errorf("provider got %+v; want a form POST of the secret, the token and %s", redacted(last), apptest.DefaultIP)
				}
				if wantKey := map[string]string{"hcaptcha": captchaSiteKey}[provider]; last.SiteKey != wantKey {
					t.Errorf("provider got sitekey %q, want %q (hCaptcha's only)", last.SiteKey, wantKey)
				}
			})
		}
		if log := env.Log.String(); strings.Contains(log, captchatest.Secret) || strings.Contains(log, captchatest.Good) || strings.Contains(log, captchatest.Bad) {
			t.Errorf("%s: the log holds the secret or a token", provider)
		} else if !strings.Contains(log, "invalid-input-response") {
			t.Errorf("%s: the log does not say why a token was refused", provider)
		}
	}
}

func redacted(r captchatest.Request) captchatest.Request {
	r.Secret = "[" + map[bool]string{true: "the secret", false: "another"}[r.Secret == captchatest.Secret] + "]"
	return r
}

// TestCaptchaUnknownAccount: with a good token an unknown email is
// answered byte for byte as a known one, with the same calls besides the
// mail.
func TestCaptchaUnknownAccount(t *testing.T) {
	t.Parallel()
	env, _ := captchaEnv(t, "turnstile", nil)
	for _, r := range enumRoutes {
		t.Run(r.name, func(t *testing.T) {
			known := env.AddAccount(t)
			env.Calls.Reset()
			knownAnswer := env.Do(t, r.withToken(known.Email, captchatest.Good))
			knownCalls := callsBesidesMail(env)
			env.Calls.Reset()
			unknown := env.Do(t, r.withToken("nobody-captcha-"+strings.ReplaceAll(r.path, "/", "")+"@example.test", captchatest.Good))
			if knownAnswer.Status != unknown.Status || knownAnswer.Body != unknown.Body {
				t.Errorf("known %d %s, unknown %d %s; want the same", knownAnswer.Status, knownAnswer.Body, unknown.Status, unknown.Body)
			}
			if calls := callsBesidesMail(env); !maps.Equal(calls, knownCalls) {
				t.Errorf("unknown: calls %v, known %v", calls, knownCalls)
			}
		})
	}
}

// TestCaptchaSlowProvider: a provider that does not answer is given up on
// (captcha.Timeout) and the send refused.
func TestCaptchaSlowProvider(t *testing.T) {
	t.Parallel()
	env, _ := captchaEnv(t, "hcaptcha", nil)
	a := env.AddAccount(t)
	env.Calls.Reset()
	got := env.Do(t, enumRoutes[2].withToken(a.Email, captchatest.Slow))
	if got.Status != 400 || env.Calls.Total() != 0 {
		t.Errorf("got %d %s with %d AWS calls; want 400 and none", got.Status, got.Body, env.Calls.Total())
	}
}

// TestCaptchaProviderDown: a provider that cannot be reached refuses
// every send.
func TestCaptchaProviderDown(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{
		"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": captchaSiteKey, "CAPTCHA_SECRET": captchatest.Secret,
		"CAPTCHA_VERIFY_URL": "http://127.0.0.1:1/siteverify", // nothing listens on port 1
	})
	a := env.AddAccount(t)
	env.Calls.Reset()
	for _, r := range enumRoutes {
		if got := env.Do(t, r.withToken(a.Email, captchatest.Good)); got.Status != 400 || got.Body != invalidBody[r.name] {
			t.Errorf("%s: got %d %s, want 400 %s", r.name, got.Status, got.Body, invalidBody[r.name])
		}
	}
	if n := env.Calls.Total(); n != 0 {
		t.Errorf("%d AWS calls, want none", n)
	}
}

// TestCaptchaOff: by default no token is needed, one sent is ignored, and
// nothing is asked.
func TestCaptchaOff(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	for _, r := range enumRoutes {
		for _, token := range []string{"", captchatest.Bad} {
			if got := env.Do(t, r.withToken(a.Email, token)); got.Status >= 300 && got.Status != 429 {
				t.Errorf("%s, token %q: got %d %s, want success", r.name, token, got.Status, got.Body)
			}
			env.Clock.Advance(2 * env.Config.Reset.MinSendInterval)
		}
	}
}

// TestCaptchaNotOnOtherRoutes: the routes that do not send (a code's
// reset, POST /auth/otp's validate action) need no token.
func TestCaptchaNotOnOtherRoutes(t *testing.T) {
	t.Parallel()
	env, standIn := captchaEnv(t, "turnstile", nil)
	a := env.AddAccount(t)
	if got := env.Do(t, enumRoutes[0].withToken(a.Email, captchatest.Good)); got.Status != 200 {
		t.Fatalf("create: %d %s", got.Status, got.Body)
	}
	asked := len(standIn.Requests())
	got := env.Post(t, "/auth/otp", apptest.JSON(map[string]string{
		"action": "validate", "email": a.Email, "otp": env.LastCode(t, a.Email), "new_password": "violet tractor 4 pebble lantern",
	}))
	if got.Status != 200 {
		t.Errorf("validate without a token: %d %s, want 200", got.Status, got.Body)
	}
	if n := len(standIn.Requests()) - asked; n != 0 {
		t.Errorf("provider asked %d times by a reset, want 0", n)
	}
}

// handle sends r through env's handler and returns the raw response (a
// page is not JSON).
func handle(t *testing.T, env *apptest.Env, r apptest.Request) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := env.Handler.Handle(context.Background(), env.Event(t, r))
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestCaptchaPage: the widget is on the page only with the defence on,
// only on the view that asks for a new link (never beside a live link:
// the provider's script could read its URL), and the page's policy allows
// the provider's origins only then; the form posts the widget's field.
func TestCaptchaPage(t *testing.T) {
	t.Parallel()
	const deadLink = "/auth/reset-password/" + "0000000000000000000000000000000000000000000000000000000000000000"
	open := func(env *apptest.Env, path string) events.APIGatewayV2HTTPResponse {
		return handle(t, env, apptest.Request{Method: "GET", Path: path, Headers: map[string]string{"Accept": browserAccept}})
	}
	off := apptest.New(t, nil)
	for _, path := range []string{deadLink, "/auth/reset-password/" + linkOf(t, off)} {
		resp := open(off, path)
		if strings.Contains(resp.Body, `id="captcha"`) || strings.Contains(resp.Headers["Content-Security-Policy"], "frame-src") {
			t.Errorf("off, GET %s: the page or its policy names a widget", path[:24])
		}
	}
	for _, c := range []struct{ provider, script, class, origin string }{
		{"turnstile", `<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>`, `class="captcha cf-turnstile"`, "https://challenges.cloudflare.com"},
		{"hcaptcha", `<script src="https://js.hcaptcha.com/1/api.js" async defer></script>`, `class="captcha h-captcha"`, "https://*.hcaptcha.com"},
	} {
		env, _ := captchaEnv(t, c.provider, nil)
		dead := open(env, deadLink)
		checkPage(t, dead, 404, "expired")
		for _, want := range []string{c.script, c.class, `data-sitekey="` + captchaSiteKey + `"`} {
			if !strings.Contains(dead.Body, want) {
				t.Errorf("%s: the dead link's page lacks %s", c.provider, want)
			}
		}
		// The widget sits inside the form that asks for a new link.
		form := dead.Body[strings.Index(dead.Body, `<form id="request-form"`):]
		if end := strings.Index(form, "</form>"); end < 0 || !strings.Contains(form[:end], c.class) {
			t.Errorf("%s: the widget is not inside the request form", c.provider)
		}
		csp := dead.Headers["Content-Security-Policy"]
		for _, d := range []string{"script-src", "frame-src", "style-src", "connect-src"} {
			if !directiveHas(csp, d, c.origin) {
				t.Errorf("%s: %s of %q does not allow %s", c.provider, d, csp, c.origin)
			}
		}

		live := open(env, "/auth/reset-password/"+linkOf(t, env))
		checkPage(t, live, 200, "reset")
		if strings.Contains(live.Body, c.script) || strings.Contains(live.Body, "data-sitekey") || strings.Contains(live.Headers["Content-Security-Policy"], c.origin) {
			t.Errorf("%s: a live link's page carries the widget or allows its origin", c.provider)
		}
		if !strings.Contains(live.Body, `data-captcha-reload`) {
			t.Errorf("%s: a live link's page does not tell page.js to reload for the widget", c.provider)
		}
	}
}

// linkOf mails a link to a new account of env and returns its token.
func linkOf(t *testing.T, env *apptest.Env) string {
	t.Helper()
	a := env.AddAccount(t)
	body := map[string]string{"email": a.Email}
	if env.Config.Captcha.Provider != "" {
		body["captcha_token"] = captchatest.Good
	}
	if r := env.Post(t, "/auth/request-reset-password", apptest.JSON(body)); r.Status != 200 {
		t.Fatalf("request link: %d %s", r.Status, r.Body)
	}
	return env.LastToken(t, a.Email)
}

// directiveHas says whether the policy's directive lists source.
func directiveHas(csp, directive, source string) bool {
	return slices.Contains(directiveSources(csp, directive), source)
}

// directiveSources are the sources the policy's directive lists.
func directiveSources(csp, directive string) []string {
	for _, d := range strings.Split(csp, ";") {
		fields := strings.Fields(d)
		if len(fields) > 0 && fields[0] == directive {
			return fields[1:]
		}
	}
	return nil
}

// onlyWidgetOrigins says whether sources are exactly the origins of the
// bot-defence widget the page carries.
func onlyWidgetOrigins(body string, sources []string) bool {
	for _, p := range []captcha.Provider{captcha.Turnstile, captcha.HCaptcha} {
		if strings.Contains(body, `class="captcha `+p.WidgetClass()+`"`) && strings.Join(sources, " ") == p.CSPSources() {
			return true
		}
	}
	return false
}

// TestCaptchaPageForm: the request form posted without JavaScript carries
// the provider's own field; without a good token it is the request form
// again, with the widget and a message, and nothing is sent.
func TestCaptchaPageForm(t *testing.T) {
	t.Parallel()
	env, standIn := captchaEnv(t, "hcaptcha", nil)
	a := env.AddAccount(t)
	post := func(form url.Values) events.APIGatewayV2HTTPResponse {
		return handle(t, env, apptest.Request{Method: "POST", Path: "/auth/request-reset-password", Body: form.Encode(),
			Headers: map[string]string{"Content-Type": formType, "Accept": browserAccept}})
	}
	for _, form := range []url.Values{
		{"email": {a.Email}},
		{"email": {a.Email}, "h-captcha-response": {captchatest.Bad}},
		{"email": {a.Email}, "cf-turnstile-response": {captchatest.Good}}, // another provider's field
		{"email": {a.Email}, "captcha_token": {captchatest.Good}},         // the JSON field
	} {
		env.Calls.Reset()
		resp := post(form)
		checkPage(t, resp, 400, "expired")
		if !strings.Contains(resp.Body, "Complete the check and try again.") || !strings.Contains(resp.Body, `class="captcha h-captcha"`) {
			t.Errorf("form %v: the page lacks the message or the widget", form)
		}
		if n := env.Calls.Total(); n != 0 {
			t.Errorf("form %v: %d AWS calls, want none", form, n)
		}
	}
	if n := len(env.MailsTo(t, a.Email)); n != 0 {
		t.Fatalf("%d mails after refused forms, want 0", n)
	}
	resp := post(url.Values{"email": {a.Email}, "h-captcha-response": {captchatest.Good}})
	checkPage(t, resp, 200, "sent")
	if n := len(env.MailsTo(t, a.Email)); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
	if reqs := standIn.Requests(); reqs[len(reqs)-1].Remote != apptest.DefaultIP {
		t.Errorf("provider got remoteip %q, want %s", reqs[len(reqs)-1].Remote, apptest.DefaultIP)
	}
}

// TestCaptchaServe: a handler with the defence on refuses to start
// without a verifier when one of its routes sends; the page-only function
// shows the widget without one.
func TestCaptchaServe(t *testing.T) {
	t.Parallel()
	log := slog.New(slog.DiscardHandler)
	on := gateway.Options{Captcha: gateway.Captcha{Provider: captcha.Turnstile, SiteKey: captchaSiteKey}}
	for _, f := range gateway.Functions() {
		_, err := gateway.ForFunctionWithOptions(f.Name, nil, log, on)
		if f.Sends() != (err != nil) {
			t.Errorf("%s without a verifier: got %v, want an error only for a function that sends", f.Name, err)
		}
	}
	for name, c := range map[string]gateway.Captcha{
		"no site key":           {Provider: captcha.Turnstile},
		"unknown provider":      {Provider: "recaptcha", SiteKey: captchaSiteKey},
		"site key, no provider": {SiteKey: captchaSiteKey},
	} {
		if _, err := gateway.ForFunctionWithOptions("password-reset", nil, log, gateway.Options{Captcha: c}); err == nil {
			t.Errorf("%s: got nil, want an error", name)
		}
	}
}
