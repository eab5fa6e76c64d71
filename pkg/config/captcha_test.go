package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/captcha"
	"github.com/passreset/passreset/pkg/config"
)

const captchaSecret = "0x4AAAAAAAconfig-test-secret"

func TestLoadCaptcha(t *testing.T) {
	c, err := config.Load(getenv(minimal()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Captcha != (config.Captcha{}) {
		t.Errorf("Captcha = %+v by default, want off", c.Captcha)
	}
	for _, provider := range []captcha.Provider{captcha.Turnstile, captcha.HCaptcha} {
		c, err := config.Load(getenv(with(map[string]string{
			"CAPTCHA_PROVIDER": string(provider), "CAPTCHA_SITE_KEY": "site-key-1", "CAPTCHA_SECRET": captchaSecret,
			"CAPTCHA_VERIFY_URL": "http://127.0.0.1:9/siteverify",
		})))
		if err != nil {
			t.Fatalf("%s: %v", provider, err)
		}
		want := config.Captcha{Provider: provider, SiteKey: "site-key-1", Secret: captcha.NewSecret(captchaSecret), VerifyURL: "http://127.0.0.1:9/siteverify"}
		if c.Captcha != want {
			t.Errorf("%s: Captcha = %+v, want %+v", provider, c.Captcha, want)
		}
		for _, format := range []string{"%v", "%+v", "%#v"} {
			if strings.Contains(fmt.Sprintf(format, c), captchaSecret) {
				t.Errorf("Sprintf(%q, cfg) shows CAPTCHA_SECRET", format)
			}
		}
	}
	// A stand-in over http on this machine, or any https URL.
	for _, u := range []string{"http://localhost:8080/siteverify", "http://[::1]:9/siteverify", "https://siteverify.example.test/v"} {
		if _, err := config.Load(getenv(with(map[string]string{"CAPTCHA_PROVIDER": "hcaptcha", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_VERIFY_URL": u}))); err != nil {
			t.Errorf("CAPTCHA_VERIFY_URL=%s: %v, want nil", u, err)
		}
	}
	// Without a secret: the page-only function (password-reset) gets none.
	if _, err := config.Load(getenv(with(map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k"}))); err != nil {
		t.Errorf("provider and site key without a secret: %v, want nil", err)
	}
}

func TestLoadCaptchaErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		vars map[string]string
		want string // the variable the error names, and a word of why
	}{
		{"unknown provider", map[string]string{"CAPTCHA_PROVIDER": "recaptcha", "CAPTCHA_SITE_KEY": "k"}, `CAPTCHA_PROVIDER is "recaptcha"; want turnstile, hcaptcha`},
		{"no site key", map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SECRET": captchaSecret}, "CAPTCHA_SITE_KEY is required with CAPTCHA_PROVIDER"},
		{"site key with a quote", map[string]string{"CAPTCHA_PROVIDER": "hcaptcha", "CAPTCHA_SITE_KEY": `k"><script>`}, "CAPTCHA_SITE_KEY is"},
		{"secret without provider", map[string]string{"CAPTCHA_SECRET": captchaSecret}, "CAPTCHA_SECRET is set but CAPTCHA_PROVIDER is empty"},
		{"site key without provider", map[string]string{"CAPTCHA_SITE_KEY": "k"}, "CAPTCHA_SITE_KEY is set but CAPTCHA_PROVIDER is empty"},
		{"verify URL without provider", map[string]string{"CAPTCHA_VERIFY_URL": "https://x.test/v"}, "CAPTCHA_VERIFY_URL is set but CAPTCHA_PROVIDER is empty"},
		{"relative verify URL", map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_VERIFY_URL": "/siteverify"}, "CAPTCHA_VERIFY_URL is"},
		{"verify URL over http to another host", map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_VERIFY_URL": "http://siteverify.example.test/siteverify"}, "CAPTCHA_VERIFY_URL is"},
		{"verify URL over http to a loopback-looking name", map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_VERIFY_URL": "http://127.0.0.1.example.test/siteverify"}, "CAPTCHA_VERIFY_URL is"},
		{"secret with a space", map[string]string{"CAPTCHA_PROVIDER": "turnstile", "CAPTCHA_SITE_KEY": "k", "CAPTCHA_SECRET": captchaSecret + " x"}, "CAPTCHA_SECRET has a space"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Load(getenv(with(c.vars)))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
			if strings.Contains(err.Error(), captchaSecret) {
				t.Errorf("error %q shows CAPTCHA_SECRET", err)
			}
		})
	}
}
