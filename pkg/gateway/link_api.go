package gateway

import (
	"context"

	"github.com/passreset/passreset/pkg/reset"
)

// The link API: reset links.

// serveLinkRequest is POST /auth/request-reset-password with {"email"}.
func serveLinkRequest(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &linkRequest, err
	}
	email, err := requiredEmail(body, "email")
	if err != nil {
		return &linkRequest, err
	}
	if err := req.checkCaptcha(ctx, body); err != nil {
		return &linkRequest, err
	}
	return &linkRequest, flows.RequestLink(ctx, reset.LinkRequest{Email: email, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage()})
}

// serveLinkReset is POST /auth/reset-password with {"token", "new_password"}.
func serveLinkReset(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &linkReset, err
	}
	token, newPassword, err := codeAndPassword(body, "token", "new_password")
	if err != nil {
		return &linkReset, err
	}
	return &linkReset, flows.ResetWithLink(ctx, reset.LinkReset{
		Token: reset.Token(token), NewPassword: newPassword, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(),
	})
}

// serveLinkResetInPath is POST /auth/reset-password/{token} with
// {"new_password"}: the form the mailed link leads to.
func serveLinkResetInPath(ctx context.Context, flows Flows, req request) (*table, error) {
	token := req.ev.PathParameters["token"]
	body, err := req.body()
	if err != nil {
		return &linkReset, err
	}
	newPassword, present, err := body.text("new_password")
	if err != nil {
		return &linkReset, err
	}
	if !present || token == "" {
		return &linkReset, errBadBody
	}
	return &linkReset, flows.ResetWithLink(ctx, reset.LinkReset{
		Token: reset.Token(token), NewPassword: newPassword, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(),
	})
}
