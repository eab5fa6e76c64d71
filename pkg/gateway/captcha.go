package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/passreset/passreset/pkg/captcha"
)

// The bot defence of the send routes (off by default): with a provider
// set, a request that would send a code or a link carries a Turnstile or
// hCaptcha token, which the provider's siteverify API must accept before
// the flow runs. It is checked after the body is decoded and before any
// account lookup or limit, so it costs the same for every account, known
// or not, and a refused token moves no limit and sends nothing.
//
// It fails closed: no token, a refused one, and a provider that is down,
// slow or answers nonsense are all the route's "invalid body" 400 (the
// family's existing message, so no client needs a new match), and the
// reason goes to the log, never the token.

// Captcha is the bot defence's settings. The zero value is off.
type Captcha struct {
	// Provider is captcha.Turnstile or captcha.HCaptcha; "" is off.
	Provider captcha.Provider
	// SiteKey is the widget's public key, which the reset page carries.
	SiteKey string
	// Verifier checks tokens with Provider; a handler serving a send
	// route needs one when Provider is set. The page-only function
	// (password-reset) shows the widget without one.
	Verifier *captcha.Verifier
}

func (c Captcha) on() bool { return c.Provider != "" }

// captchaField is the JSON field of a send route's body that holds the
// token (docs/contract.md). The page's form posts the provider's own field
// (captcha.Provider.FormField) instead.
const captchaField = "captcha_token"

// check says what keeps c from serving routes; nil when nothing does.
func (c Captcha) check(routes []Route) error {
	if !c.on() {
		if c.Verifier != nil || c.SiteKey != "" {
			return errors.New("captcha: a site key or verifier without a provider")
		}
		return nil
	}
	if !c.Provider.Known() {
		return fmt.Errorf("captcha: unknown provider %q", c.Provider)
	}
	if c.SiteKey == "" {
		return errors.New("captcha: no site key for the reset page's widget")
	}
	if c.Verifier != nil && c.Verifier.Provider() != c.Provider {
		return fmt.Errorf("captcha: verifier for %s, provider %s", c.Verifier.Provider(), c.Provider)
	}
	for _, r := range routes {
		if r.sends && c.Verifier == nil {
			return fmt.Errorf("captcha: route %q sends mail and needs a verifier (a secret) with provider %s", r.Key, c.Provider)
		}
	}
	return nil
}

// checkCaptcha verifies a send request's token, from a JSON body's
// captcha_token; nil when the defence is off. It must run before the
// route's flow.
func (r request) checkCaptcha(ctx context.Context, body object) error {
	if r.captcha == nil {
		return nil
	}
	token, _, err := body.text(captchaField)
	if err != nil {
		return err
	}
	return r.verifyCaptcha(ctx, token)
}

// verifyCaptcha asks the provider about token, solved by this request's
// client (API Gateway's source IP). Every failure, the provider's
// included, is errBadBody, with the reason for the log.
func (r request) verifyCaptcha(ctx context.Context, token string) error {
	if err := r.captcha.Verify(ctx, token, r.sourceIP()); err != nil {
		return fmt.Errorf("%w: %w", errBadBody, err)
	}
	return nil
}
