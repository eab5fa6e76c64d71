package function

import (
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/captcha"
	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/gateway"
)

// TestCaptcha: a function that sends needs the secret when the bot
// defence is on; the page-only one shows the widget without it; off, the
// edge gets nothing.
func TestCaptcha(t *testing.T) {
	on := config.Config{Captcha: config.Captcha{Provider: captcha.Turnstile, SiteKey: "k"}}
	if _, err := Captcha(on, true); err == nil || !strings.Contains(err.Error(), "CAPTCHA_SECRET is required") {
		t.Errorf("send function without a secret: got %v, want CAPTCHA_SECRET is required", err)
	}
	page, err := Captcha(on, false)
	if err != nil || page.Provider != captcha.Turnstile || page.SiteKey != "k" || page.Verifier != nil {
		t.Errorf("page-only function: got %+v, %v; want the widget and no verifier", page, err)
	}
	on.Captcha.Secret = captcha.NewSecret("s")
	sends, err := Captcha(on, true)
	if err != nil || sends.Verifier == nil {
		t.Errorf("send function with a secret: got %+v, %v; want a verifier", sends, err)
	}
	if off, err := Captcha(config.Config{}, true); err != nil || off != (gateway.Captcha{}) {
		t.Errorf("off: got %+v, %v; want the zero Captcha", off, err)
	}
	for _, f := range gateway.Functions() {
		if want := f.Name != "password-reset"; f.Sends() != want {
			t.Errorf("%s: Sends() = %v, want %v", f.Name, f.Sends(), want)
		}
	}
}
