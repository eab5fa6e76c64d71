// Package captcha verifies a bot-defence token with its provider's
// siteverify API: Cloudflare Turnstile or hCaptcha. Both take the same
// form-encoded POST (secret, response, remoteip; hCaptcha also sitekey)
// and answer JSON with "success" and "error-codes", so one Verifier speaks
// to either.
//
// Verify fails closed: a provider that is down, slow, or answers anything
// but a well-formed success refuses the token. Nothing here retries: a
// user asked to try again costs less than a send let through unchecked.
package captcha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Provider names a bot-defence service.
type Provider string

// The providers.
const (
	Turnstile Provider = "turnstile"
	HCaptcha  Provider = "hcaptcha"
)

// widget is what the reset page needs to show a provider's widget and
// what its script posts back.
type widget struct {
	verifyURL string
	script    string // the widget's script, loaded by the page
	class     string // the class of the div the script fills
	field     string // the form field the script adds, holding the token
	// origins are the Content-Security-Policy sources the widget needs for
	// its script, its frame, its style and its calls, as each provider
	// documents them.
	origins string
}

var widgets = map[Provider]widget{
	Turnstile: {
		verifyURL: "https://challenges.cloudflare.com/turnstile/v0/siteverify",
		script:    "https://challenges.cloudflare.com/turnstile/v0/api.js",
		class:     "cf-turnstile",
		field:     "cf-turnstile-response",
		origins:   "https://challenges.cloudflare.com",
	},
	HCaptcha: {
		verifyURL: "https://api.hcaptcha.com/siteverify",
		script:    "https://js.hcaptcha.com/1/api.js",
		class:     "h-captcha",
		field:     "h-captcha-response",
		origins:   "https://hcaptcha.com https://*.hcaptcha.com",
	},
}

// Known reports whether p is a provider this package speaks to.
func (p Provider) Known() bool { _, ok := widgets[p]; return ok }

// VerifyURL is the provider's own siteverify endpoint.
func (p Provider) VerifyURL() string { return widgets[p].verifyURL }

// ScriptURL is the provider's widget script, which the page loads.
func (p Provider) ScriptURL() string { return widgets[p].script }

// WidgetClass is the class of the element the widget script fills.
func (p Provider) WidgetClass() string { return widgets[p].class }

// FormField is the name of the form field the widget adds to its form,
// holding the token.
func (p Provider) FormField() string { return widgets[p].field }

// CSPSources are the Content-Security-Policy sources the widget needs, for
// script-src, frame-src, style-src and connect-src alike.
func (p Provider) CSPSources() string { return widgets[p].origins }

// Secret is a provider's secret key. It prints redacted (%v, %+v, %#v,
// slog), so a configuration that holds one can be printed or logged.
type Secret struct{ value string }

// NewSecret wraps a secret key.
func NewSecret(s string) Secret { return Secret{value: s} }

// IsZero reports whether there is no secret.
func (s Secret) IsZero() bool { return s.value == "" }

func (s Secret) String() string {
	if s.IsZero() {
		return ""
	}
	return "[redacted]"
}

// GoString hides the key from %#v too.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the key from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// ErrRefused is a token the provider did not accept, or none at all.
var ErrRefused = errors.New("captcha token refused")

// maxToken bounds a token before it is sent on: both providers' tokens
// are about 2 KiB at most (Turnstile documents 2048 characters).
const maxToken = 4096

// Timeout bounds one verification, inside the functions' 10-second
// deadline. Provider answers take tens of milliseconds.
const Timeout = 3 * time.Second

// Verifier checks tokens with one provider.
type Verifier struct {
	provider  Provider
	siteKey   string
	secret    Secret
	verifyURL string
	client    *http.Client
}

// New returns a Verifier for provider's site siteKey with secret, at
// verifyURL (the provider's own when ""), over client (a client with
// Timeout when nil).
//
// hCaptcha is sent the site key, as it recommends: one secret serves
// every site key of an account, and only the site key sent makes it
// refuse a token solved on another of them. Turnstile's secret is the
// widget's own, and its siteverify takes no site key.
func New(provider Provider, siteKey string, secret Secret, verifyURL string, client *http.Client) (*Verifier, error) {
	if !provider.Known() {
		return nil, fmt.Errorf("captcha provider %q: want %s or %s", provider, Turnstile, HCaptcha)
	}
	if secret.IsZero() {
		return nil, errors.New("captcha secret is empty")
	}
	if verifyURL == "" {
		verifyURL = provider.VerifyURL()
	}
	if client == nil {
		client = &http.Client{Timeout: Timeout}
	}
	return &Verifier{provider: provider, siteKey: siteKey, secret: secret, verifyURL: verifyURL, client: client}, nil
}

// Provider is the verifier's provider.
func (v *Verifier) Provider() Provider { return v.provider }

// answer is the siteverify API's answer; only what is checked.
type answer struct {
	Success    *bool    `json:"success"`
	ErrorCodes []string `json:"error-codes"`
}

// Verify asks the provider whether token, solved by a client at remoteIP,
// is good. It returns nil only on a well-formed success; ErrRefused
// (wrapped, with the provider's error codes) for an empty, oversized or
// refused token; any other error for a provider that could not be asked
// or answered nonsense. Callers refuse the request on any error. Neither
// the token nor the secret is ever in an error.
func (v *Verifier) Verify(ctx context.Context, token, remoteIP string) error {
	if token == "" {
		return fmt.Errorf("%w: no token", ErrRefused)
	}
	if len(token) > maxToken {
		return fmt.Errorf("%w: token longer than %d bytes", ErrRefused, maxToken)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	form := url.Values{"secret": {v.secret.value}, "response": {token}}
	if remoteIP != "" {
		form.Set("remoteip", remoteIP)
	}
	if v.provider == HCaptcha && v.siteKey != "" {
		form.Set("sitekey", v.siteKey)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, v.verifyURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%s siteverify: build request: %w", v.provider, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		// The error names the URL, which holds no secret: the secret
		// and the token travel in the body.
		return fmt.Errorf("%s siteverify: %w", v.provider, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s siteverify: status %d", v.provider, resp.StatusCode)
	}
	var a answer
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&a); err != nil {
		return fmt.Errorf("%s siteverify: malformed answer: %v", v.provider, err)
	}
	switch {
	case a.Success == nil:
		return fmt.Errorf("%s siteverify: malformed answer: no success field", v.provider)
	case !*a.Success:
		return fmt.Errorf("%w by %s: %s", ErrRefused, v.provider, errorCodes(a.ErrorCodes))
	}
	return nil
}

// errorCodes are the provider's reasons as logged: its own short codes
// (invalid-input-response, timeout-or-duplicate), bounded, never a token.
func errorCodes(codes []string) string {
	var kept []string
	for _, c := range codes {
		if len(kept) == 4 {
			break
		}
		if len(c) <= 64 && strings.Trim(c, "abcdefghijklmnopqrstuvwxyz0123456789-_") == "" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return "no error code"
	}
	return strings.Join(kept, ", ")
}
