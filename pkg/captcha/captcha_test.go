package captcha_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/captcha"
	"github.com/passreset/passreset/pkg/captcha/captchatest"
)

// TestVerify: a token is good only when the stand-in says success; every
// other answer, and no answer, is an error, and the request is the
// documented form POST of secret, response and remoteip, with the site
// key for hCaptcha.
func TestVerify(t *testing.T) {
	t.Parallel()
	standIn := captchatest.New(t)
	for _, p := range []captcha.Provider{captcha.Turnstile, captcha.HCaptcha} {
		v, err := captcha.New(p, captchatest.SiteKey, captcha.NewSecret(captchatest.Secret), standIn.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			token   string
			ok      bool
			refused bool // errors.Is ErrRefused: the provider said no, or there was nothing to ask
		}{
			{captchatest.Good, true, false},
			{captchatest.Bad, false, true},
			{"", false, true},
			{strings.Repeat("x", 5000), false, true},
			{captchatest.Failing, false, false},
			{captchatest.Garbage, false, false},
			{captchatest.Empty, false, false},
			{captchatest.Slow, false, false},
		} {
			name := string(p) + "/" + c.token
			if len(name) > 40 {
				name = name[:40]
			}
			t.Run(name, func(t *testing.T) {
				err := v.Verify(context.Background(), c.token, "198.51.100.7")
				switch {
				case c.ok && err != nil:
					t.Fatalf("got %v, want nil", err)
				case !c.ok && err == nil:
					t.Fatalf("got nil, want an error (fail closed)")
				case err != nil && errors.Is(err, captcha.ErrRefused) != c.refused:
					t.Errorf("got %v; errors.Is(ErrRefused) = %v, want %v", err, !c.refused, c.refused)
				}
				if err != nil && (strings.Contains(err.Error(), captchatest.Secret) || (c.token != "" && strings.Contains(err.Error(), c.token))) {
					t.Errorf("error %q holds the secret or the token", err)
				}
			})
		}
	}
	for i, r := range standIn.Requests() {
		if r.Problem != "" {
			t.Errorf("stand-in: %s", r.Problem)
		}
		// Turnstile's calls come first: its siteverify takes no site key.
		if wantKey := map[bool]string{true: "", false: captchatest.SiteKey}[i < 6]; r.SiteKey != wantKey {
			t.Errorf("call %d: stand-in got sitekey %q, want %q", i, r.SiteKey, wantKey)
		}
		if r.Secret != captchatest.Secret || r.Remote != "198.51.100.7" || r.Response == "" {
			t.Errorf("stand-in got secret %t, remoteip %q, response %q; want the secret, 198.51.100.7 and the token", r.Secret == captchatest.Secret, r.Remote, r.Response)
		}
	}
	// "" and the oversized token are refused without a call.
	if got, want := len(standIn.Requests()), 2*6; got != want {
		t.Errorf("stand-in got %d calls, want %d", got, want)
	}
}

// TestVerifyWrongSecret: the provider's refusal of the secret is a refusal.
func TestVerifyWrongSecret(t *testing.T) {
	t.Parallel()
	standIn := captchatest.New(t)
	v, err := captcha.New(captcha.Turnstile, captchatest.SiteKey, captcha.NewSecret("not-the-secret"), standIn.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), captchatest.Good, ""); !errors.Is(err, captcha.ErrRefused) || !strings.Contains(err.Error(), "invalid-input-secret") {
		t.Errorf("got %v, want ErrRefused naming invalid-input-secret", err)
	}
}

// TestVerifyOtherSiteKey: hCaptcha is told the site key, so a token
// solved on another site key of the same account (the same secret) is
// refused.
func TestVerifyOtherSiteKey(t *testing.T) {
	t.Parallel()
	standIn := captchatest.New(t)
	v, err := captcha.New(captcha.HCaptcha, "another-site-key", captcha.NewSecret(captchatest.Secret), standIn.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), captchatest.Good, "198.51.100.7"); !errors.Is(err, captcha.ErrRefused) || !strings.Contains(err.Error(), "sitekey-secret-mismatch") {
		t.Errorf("got %v, want ErrRefused naming sitekey-secret-mismatch", err)
	}
}

// TestVerifyDown: a provider that cannot be reached refuses the token.
func TestVerifyDown(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close()
	v, err := captcha.New(captcha.HCaptcha, captchatest.SiteKey, captcha.NewSecret(captchatest.Secret), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(context.Background(), captchatest.Good, "198.51.100.7"); err == nil {
		t.Error("got nil from a provider that is down, want an error")
	}
}

// TestProviders: each provider's real endpoints and widget, as its
// documentation gives them, and New refuses what it cannot use.
func TestProviders(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p                            captcha.Provider
		verify, script, class, field string
	}{
		{captcha.Turnstile, "https://challenges.cloudflare.com/turnstile/v0/siteverify", "https://challenges.cloudflare.com/turnstile/v0/api.js", "cf-turnstile", "cf-turnstile-response"},
		{captcha.HCaptcha, "https://api.hcaptcha.com/siteverify", "https://js.hcaptcha.com/1/api.js", "h-captcha", "h-captcha-response"},
	} {
		if got := [4]string{c.p.VerifyURL(), c.p.ScriptURL(), c.p.WidgetClass(), c.p.FormField()}; got != [4]string{c.verify, c.script, c.class, c.field} {
			t.Errorf("%s: got %q", c.p, got)
		}
	}
	if _, err := captcha.New("recaptcha", "k", captcha.NewSecret("s"), "", nil); err == nil {
		t.Error("New accepted an unknown provider")
	}
	if _, err := captcha.New(captcha.Turnstile, "k", captcha.Secret{}, "", nil); err == nil {
		t.Error("New accepted an empty secret")
	}
}
