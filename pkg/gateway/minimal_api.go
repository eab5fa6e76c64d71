package gateway

import (
	"context"

	"github.com/passreset/passreset/pkg/reset"
)

// The minimal API: a tutorial's two routes, without its flaws (it
// logged codes and passwords and let anyone guess without limit).

// serveGenerate is POST /generate-otp with {"email"}.
func serveGenerate(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &generate, err
	}
	email, err := requiredEmail(body, "email")
	if err != nil {
		return &generate, err
	}
	if err := req.checkCaptcha(ctx, body); err != nil {
		return &generate, err
	}
	return &generate, flows.RequestCode(ctx, reset.CodeRequest{
		Account: reset.Lookup{Email: email}, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(),
	})
}

// serveMinimalReset is POST /reset-password with {"email", "otp", "newPassword"}.
func serveMinimalReset(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &seedReset, err
	}
	email, err := requiredEmail(body, "email")
	if err != nil {
		return &seedReset, err
	}
	code, newPassword, err := codeAndPassword(body, "otp", "newPassword")
	if err != nil {
		return &seedReset, err
	}
	return &seedReset, flows.ResetWithCode(ctx, reset.CodeReset{
		Account: reset.Lookup{Email: email}, Code: code, NewPassword: newPassword,
		IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(),
	})
}
