package gateway

import (
	"context"
	"errors"

	"github.com/passreset/passreset/pkg/reset"
)

// The user-name-or-email API (email-armor's): the account is named by
// userEmail or userName, and the code is bound to the device (User-Agent)
// that asked.

// serveUsernameOrEmailRequest is POST /auth/forgot-password with {"userEmail"?, "userName"?}.
func serveUsernameOrEmailRequest(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &armorRequest, err
	}
	lookup, err := armorLookup(body)
	if err != nil {
		return &armorRequest, err
	}
	if err := req.checkCaptcha(ctx, body); err != nil {
		return &armorRequest, err
	}
	err = flows.RequestCode(ctx, reset.CodeRequest{
		Account: lookup, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(), BindDevice: true,
	})
	return &armorRequest, armorOutcome(lookup, err)
}

// serveUsernameOrEmailReset is PUT /auth/forgot-password with
// {"userEmail"?, "userName"?, "otp", "newPassword"}.
func serveUsernameOrEmailReset(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &armorReset, err
	}
	lookup, err := armorLookup(body)
	if err != nil {
		return &armorReset, err
	}
	code, hasCode, err := body.text("otp")
	if err != nil {
		return &armorReset, err
	}
	if !hasCode {
		return &armorReset, errNoOTP
	}
	newPassword, hasPassword, err := body.text("newPassword")
	if err != nil {
		return &armorReset, err
	}
	if !hasPassword {
		return &armorReset, errNoNewPassword
	}
	err = flows.ResetWithCode(ctx, reset.CodeReset{
		Account: lookup, Code: reset.Code(code), NewPassword: newPassword,
		IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(),
	})
	return &armorReset, armorOutcome(lookup, err)
}

// armorLookup reads the account's name; userEmail wins when both are given.
func armorLookup(body object) (reset.Lookup, error) {
	email, hasEmail, err := body.text("userEmail")
	if err != nil {
		return reset.Lookup{}, err
	}
	name, hasName, err := body.text("userName")
	if err != nil {
		return reset.Lookup{}, err
	}
	switch {
	case hasEmail:
		e, err := reset.ParseEmail(email)
		return reset.Lookup{Email: e}, err
	case hasName:
		u, err := reset.ParseUsername(name)
		return reset.Lookup{Username: u}, err
	default:
		return reset.Lookup{}, errNoName
	}
}

// armorOutcome words a revealed unknown account as the seed does: by the
// name that was not found.
func armorOutcome(lookup reset.Lookup, err error) error {
	if !errors.Is(err, reset.ErrUnknownAccount) {
		return err
	}
	if lookup.Email != (reset.Email{}) {
		return reset.ErrInvalidEmail
	}
	return reset.ErrInvalidUsername
}
