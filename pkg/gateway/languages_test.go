package gateway_test

import (
	"fmt"
	"html"
	"log/slog"
	"maps"
	"net/url"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/gateway"
)

// Languages: a mail is written in the account's language, else the
// request's Accept-Language, else DEFAULT_LANGUAGE; the reset page in the
// browser's Accept-Language. No JSON answer changes with either: the
// contract's messages are English, and an unknown account's answer is the
// known one's, byte for byte.

// TestMailInAccountLanguage: an account whose locale is "de" gets its mails
// in German whatever the request asks for, while the JSON answer to the
// request is byte-identical to an unknown account's with the same
// Accept-Language, with the same calls besides the mail.
func TestMailInAccountLanguage(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const accept = "fr-FR,fr;q=0.9,en;q=0.5"
	for _, r := range enumRoutes {
		t.Run(r.name, func(t *testing.T) {
			german := env.AddAccount(t, apptest.Language("de"))
			unknown := "nobody-" + german.ID + "@example.test"
			send := func(email string) (apptest.Response, map[string]int) {
				req := r.request(email)
				req.Headers = map[string]string{"Content-Type": "application/json", "Accept-Language": accept}
				env.Calls.Reset()
				got := env.Do(t, req)
				return got, callsBesidesMail(env)
			}
			known, knownCalls := send(german.Email)
			if known.Status >= 300 {
				t.Fatalf("known account: %d %s", known.Status, known.Body)
			}
			other, otherCalls := send(unknown)
			if other.Status != known.Status || other.Body != known.Body || fmt.Sprint(other.Headers) != fmt.Sprint(known.Headers) {
				t.Errorf("unknown account: %d %v %s, want the known one's %d %v %s",
					other.Status, other.Headers, other.Body, known.Status, known.Headers, known.Body)
			}
			if !maps.Equal(otherCalls, knownCalls) {
				t.Errorf("unknown account: calls %v, want the known one's %v", otherCalls, knownCalls)
			}
			mails := env.MailsTo(t, german.Email)
			if len(mails) != 1 {
				t.Fatalf("%d mails to the account, want 1", len(mails))
			}
			m := mails[0]
			if !strings.Contains(m.HTML, `<html lang="de">`) || !strings.Contains(m.Subject, "Passwort") {
				t.Errorf("mail %q is not in German:\n%s", m.Subject, m.Text)
			}
		})
	}
}

// TestMailInRequestLanguage: an account without a language gets its mails
// in the first language of Accept-Language there are texts for, else
// DEFAULT_LANGUAGE; and the notice after a reset follows the reset's
// request.
func TestMailInRequestLanguage(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"DEFAULT_LANGUAGE": "es", "MIN_SEND_INTERVAL": "0s", "MAX_SENDS_PER_HOUR": "100"})
	linkIn := func(t *testing.T, email, accept string) string {
		t.Helper()
		r := env.Do(t, apptest.Request{Method: "POST", Path: "/auth/request-reset-password",
			Body: apptest.JSON(map[string]string{"email": email}), Headers: map[string]string{"Accept-Language": accept}})
		if r.Status != 200 {
			t.Fatalf("request link: %d %s", r.Status, r.Body)
		}
		mails := env.MailsTo(t, email)
		return mails[len(mails)-1].HTML
	}
	a := env.AddAccount(t)
	for _, tt := range []struct{ accept, want string }{
		{"it-IT, fr-CA;q=0.8, de;q=0.5", "fr"},
		{"de-AT", "de"},
		{"ja, zh;q=0.9", "es"}, // none served: the default
		{"", "es"},
	} {
		if htm := linkIn(t, a.Email, tt.accept); !strings.Contains(htm, `<html lang="`+tt.want+`">`) {
			t.Errorf("Accept-Language %q: the link mail is not in %s:\n%s", tt.accept, tt.want, htm)
		}
	}

	token := env.LastToken(t, a.Email)
	r := env.Do(t, apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token,
		Body: apptest.JSON(map[string]string{"new_password": pageGood}), Headers: map[string]string{"Accept-Language": "de"}})
	if r.Status != 200 {
		t.Fatalf("reset: %d %s", r.Status, r.Body)
	}
	mails := env.MailsTo(t, a.Email)
	if last := mails[len(mails)-1]; last.Subject != "Ihr Passwort für "+env.Config.Mail.AppName+" wurde geändert" {
		t.Errorf("notice subject %q, want the German one", last.Subject)
	}
}

// TestJSONAnswersStayEnglish: Accept-Language changes no JSON answer.
func TestJSONAnswersStayEnglish(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	for _, req := range []apptest.Request{
		{Method: "POST", Path: "/auth/reset-password/" + strings.Repeat("a", 43), Body: apptest.JSON(map[string]string{"new_password": pageGood})},
		{Method: "POST", Path: "/auth/request-reset-password", Body: `{"email": "not an address"}`},
		{Method: "POST", Path: "/auth/otp", Body: apptest.JSON(map[string]string{"action": "validate", "email": "x@example.test", "code": "123456", "new_password": pageGood})},
	} {
		plain := env.Do(t, req)
		req.Headers = map[string]string{"Content-Type": "application/json", "Accept-Language": "de-DE,de;q=0.9"}
		german := env.Do(t, req)
		if german.Status != plain.Status || german.Body != plain.Body || fmt.Sprint(german.Headers) != fmt.Sprint(plain.Headers) {
			t.Errorf("%s with Accept-Language de: %d %v %s, want %d %v %s", req.Path,
				german.Status, german.Headers, german.Body, plain.Status, plain.Headers, plain.Body)
		}
	}
}

// pageIn is a page handler with the given branding.
func pageIn(t *testing.T, opts gateway.Options) *pageEnv {
	t.Helper()
	env := apptest.New(t, apptest.Settings{"MIN_PASSWORD_LENGTH": "10"})
	opts.Policy = env.Config.Password
	h, err := gateway.NewWithOptions(env.Service.Flows, slog.New(slog.DiscardHandler), gateway.RouteKeys(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return &pageEnv{Env: env, h: h}
}

// TestPageLanguage: the page is written in the browser's language, with
// its headers saying so; its form's answers too.
func TestPageLanguage(t *testing.T) {
	e := pageIn(t, gateway.Options{AppName: "Acme", DefaultLanguage: "fr"})
	_, token := e.linkFor(t)
	path := "/auth/reset-password/" + token
	for _, tt := range []struct {
		accept, lang, heading string
	}{
		{"de-DE,de;q=0.9,en;q=0.8", "de", "Neues Passwort festlegen"},
		{"es-MX", "es", "Elige una contraseña nueva"},
		{"en-GB;q=0.8, it", "en", "Choose a new password"},
		{"ja, zh;q=0.5", "fr", "Choisissez un nouveau mot de passe"}, // none served: the default
		{"", "fr", "Choisissez un nouveau mot de passe"},
	} {
		resp := e.send(t, apptest.Request{Method: "GET", Path: path, Headers: map[string]string{"Accept": browserAccept, "Accept-Language": tt.accept}})
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `<html lang="`+tt.lang+`">`) || !strings.Contains(resp.Body, ">"+html.EscapeString(tt.heading)+"</h1>") {
			t.Errorf("Accept-Language %q: %d, want the page in %s with %q:\n%s", tt.accept, resp.StatusCode, tt.lang, tt.heading, resp.Body)
		}
		if resp.Headers["Content-Language"] != tt.lang || resp.Headers["Vary"] != "Accept-Language" {
			t.Errorf("Accept-Language %q: Content-Language %q, Vary %q", tt.accept, resp.Headers["Content-Language"], resp.Headers["Vary"])
		}
		if strings.Contains(resp.Body, "{{") || strings.Contains(resp.Body, "{min}") || strings.Contains(resp.Body, "{address}") {
			t.Errorf("Accept-Language %q: a text left unfilled", tt.accept)
		}
	}

	german := func(form url.Values) string {
		t.Helper()
		resp := e.send(t, apptest.Request{Method: "POST", Path: path, Body: form.Encode(),
			Headers: map[string]string{"Content-Type": formType, "Accept": browserAccept, "Accept-Language": "de"}})
		return fieldErrors(resp.Body)["new_password"] + fieldErrors(resp.Body)["confirm_password"]
	}
	if got := german(url.Values{"new_password": {"short"}, "confirm_password": {"short"}}); got != "Das Passwort muss mindestens 10 Zeichen lang sein." {
		t.Errorf("policy reason in German: %q", got)
	}
	if got := german(url.Values{"new_password": {pageGood}, "confirm_password": {pageGood + "x"}}); !strings.HasPrefix(got, "Die beiden Passwörter stimmen nicht überein.") {
		t.Errorf("mismatch in German: %q", got)
	}
}

// TestPageBranding: the logo and the support address are shown, escaped,
// and the logo's origin is the only other one images may come from.
func TestPageBranding(t *testing.T) {
	e := pageIn(t, gateway.Options{AppName: `<b>Acme</b>`, LogoURL: `https://cdn.acme.test/logo.png?v="2"`, SupportAddress: `"help"<script>@acme.test`})
	_, token := e.linkFor(t)
	resp := e.open(t, token)
	checkPage(t, resp, 200, "reset")
	for _, want := range []string{
		`<img class="logo" src="https://cdn.acme.test/logo.png?v=&#34;2&#34;" alt="&lt;b&gt;Acme&lt;/b&gt;">`,
		`<p class="support">Need help? Write to &#34;help&#34;&lt;script&gt;@acme.test.</p>`,
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page lacks %s:\n%s", want, resp.Body)
		}
	}
	if csp := resp.Headers["Content-Security-Policy"]; !strings.Contains(csp, "img-src 'self' data: https://cdn.acme.test;") {
		t.Errorf("Content-Security-Policy %q does not allow the logo's origin alone", csp)
	}

	plain := newPageEnv(t)
	_, token = plain.linkFor(t)
	resp = plain.open(t, token)
	if !strings.Contains(resp.Body, `<img class="logo" src="" alt="Example App" hidden>`) || !strings.Contains(resp.Body, `<p class="support" hidden>`) {
		t.Errorf("without a logo or support address, they are shown:\n%s", resp.Body)
	}
}
