package gateway

import (
	"context"

	"github.com/passreset/passreset/pkg/reset"
)

// The code-by-action API, POST /auth/otp with an action, and the path-email
// API, POST /{email}/reset-password (docs/contract.md names the documents
// each follows).

// serveOTP is POST /auth/otp: {"action": "create", "email"},
// {"action": "validate", "email", "otp", "new_password"}, or the same reset
// in two steps: {"action": "verify", "email", "otp"}, answered with a
// grant, then {"action": "complete", "grant", "new_password"}.
func serveOTP(ctx context.Context, flows Flows, req request) (*table, error) {
	body, err := req.body()
	if err != nil {
		return &otpCreate, err
	}
	action, _, err := body.text("action")
	if err != nil {
		return &otpCreate, errBadAction
	}
	switch action {
	case "create":
		email, err := requiredEmail(body, "email")
		if err != nil {
			return &otpCreate, err
		}
		if err := req.checkCaptcha(ctx, body); err != nil {
			return &otpCreate, err
		}
		return &otpCreate, flows.RequestCode(ctx, reset.CodeRequest{
			Account: reset.Lookup{Email: email}, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(),
		})
	case "validate":
		email, err := requiredEmail(body, "email")
		if err != nil {
			return &otpValidate, err
		}
		code, newPassword, err := codeAndPassword(body, "otp", "new_password")
		if err != nil {
			return &otpValidate, err
		}
		return &otpValidate, flows.ResetWithCode(ctx, reset.CodeReset{
			Account: reset.Lookup{Email: email}, Code: code, NewPassword: newPassword,
			IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(),
		})
	case "verify":
		email, err := requiredEmail(body, "email")
		if err != nil {
			return &otpVerify, err
		}
		code, err := requiredText(body, "otp")
		if err != nil {
			return &otpVerify, err
		}
		grant, err := flows.VerifyCode(ctx, reset.CodeCheck{
			Account: reset.Lookup{Email: email}, Code: reset.Code(code),
			IP: req.sourceIP(), Device: req.userAgent(), AcceptLanguage: req.acceptLanguage(),
		})
		return otpVerify.granting(grant), err
	case "complete":
		// Read as text, never as a reset.Code: a grant is a token.
		grant, err := requiredText(body, "grant")
		if err != nil {
			return &otpComplete, err
		}
		newPassword, err := requiredText(body, "new_password")
		if err != nil {
			return &otpComplete, err
		}
		return &otpComplete, flows.ResetWithGrant(ctx, reset.GrantReset{
			Grant: reset.Token(grant), NewPassword: newPassword, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(),
		})
	default:
		return &otpCreate, errBadAction
	}
}

// serveEmailReset is POST /{email}/reset-password with {"otp", "new_password"}.
func serveEmailReset(ctx context.Context, flows Flows, req request) (*table, error) {
	param, err := req.pathParameter("email")
	if err != nil {
		return &emailReset, err
	}
	email, err := reset.ParseEmail(param)
	if err != nil {
		return &emailReset, err
	}
	body, err := req.body()
	if err != nil {
		return &emailReset, err
	}
	code, newPassword, err := codeAndPassword(body, "otp", "new_password")
	if err != nil {
		return &emailReset, err
	}
	return &emailReset, flows.ResetWithCode(ctx, reset.CodeReset{
		Account: reset.Lookup{Email: email}, Code: code, NewPassword: newPassword,
		IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(), Device: req.userAgent(),
	})
}

// requiredEmail reads and parses an email field that must be there.
func requiredEmail(body object, field string) (reset.Email, error) {
	v, present, err := body.text(field)
	if err != nil {
		return reset.Email{}, err
	}
	if !present {
		return reset.Email{}, errBadBody
	}
	return reset.ParseEmail(v)
}

// codeAndPassword reads the code and new password fields, both required.
func codeAndPassword(body object, codeField, passwordField string) (reset.Code, string, error) {
	code, hasCode, err := body.text(codeField)
	if err != nil {
		return "", "", err
	}
	newPassword, hasPassword, err := body.text(passwordField)
	if err != nil {
		return "", "", err
	}
	if !hasCode || !hasPassword {
		return "", "", errBadBody
	}
	return reset.Code(code), newPassword, nil
}

// requiredText reads a text field that must be there.
func requiredText(body object, field string) (string, error) {
	v, present, err := body.text(field)
	if err != nil {
		return "", err
	}
	if !present {
		return "", errBadBody
	}
	return v, nil
}
