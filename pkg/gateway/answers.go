package gateway

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// This file is the one place where outcomes become HTTP: for each route,
// which status and message each outcome gets, and how its family shapes the
// body. Anything a table does not name is that route's 500, with its fixed
// body; the detail goes to the log, never to the client.

// Decoding outcomes, beside the flows' own in package reset.
var (
	errBadBody       = errors.New("invalid request body")
	errBadAction     = errors.New("invalid action")
	errNoName        = errors.New("neither userName nor userEmail")
	errNoOTP         = errors.New("no otp")
	errNoNewPassword = errors.New("no new password")
	errPanic         = errors.New("panic")
	// errForeignOrigin is a POST or PUT from a browser page on an origin
	// that is not allowed (origin.go).
	errForeignOrigin = errors.New("origin not allowed")
)

// answer is a status and message.
type answer struct {
	status  int
	message string
}

// rule gives the answer for an outcome.
type rule struct {
	outcome error
	answer
}

// table answers one route (or one action of a route).
type table struct {
	routes  []string // the route keys it answers, for documentation and tests
	flow    string   // the flow it answers, the Flow of the request's metrics
	family  family
	ok      answer
	invalid answer // the family's "invalid body": wrong JSON, types, fields
	failed  answer // any outcome not named below: a failed dependency
	rules   []rule
	// grant is shown in the success body, on the two-step API's first
	// step only (granting); nil everywhere else.
	grant *reset.Grant
}

// granting is t answering one request whose success gives grant.
func (t table) granting(grant reset.Grant) *table {
	t.grant = &grant
	return &t
}

// family shapes a body from an answer.
type family func(a answer) any

// The code-by-action and path-email APIs: {"success", "message"}.
func codeByActionBody(a answer) any {
	return struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}{a.status < 300, a.message}
}

// The two-step code reset's first step, on success: the code-by-action
// body with the grant and its lifetime in whole seconds. The one place a
// grant is revealed.
func grantBody(a answer, g reset.Grant) any {
	return struct {
		Success   bool   `json:"success"`
		Message   string `json:"message"`
		Grant     string `json:"grant"`
		ExpiresIn int    `json:"expires_in"`
	}{true, a.message, g.Token.Reveal(), int(g.TTL.Seconds())}
}

// The link API: {"message"} on success, {"error"} otherwise.
func linkBody(a answer) any {
	if a.status < 300 {
		return struct {
			Message string `json:"message"`
		}{a.message}
	}
	return struct {
		Error string `json:"error"`
	}{a.message}
}

// The minimal API: {"message"}.
func minimalBody(a answer) any {
	return struct {
		Message string `json:"message"`
	}{a.message}
}

// The user-name-or-email API: {"message", "status"}, the status mirroring
// HTTP's.
func usernameOrEmailBody(a answer) any {
	return struct {
		Message string `json:"message"`
		Status  int    `json:"status"`
	}{a.message, a.status}
}

const (
	msgInvalidOTP                  = "Invalid or expired OTP."
	msgOTPAttempts                 = "Too many attempts. Please request a new OTP."
	msgNoOTP                       = "No OTP found. Please request a new OTP."
	msgCodeByActionInvalidBody     = "Invalid request body."
	msgCodeByActionEmailNotFound   = "Email not found."
	msgLinkInvalidToken            = "Invalid or expired token"
	msgLinkTooMany                 = "Too many requests"
	msgLinkInvalidBody             = "Invalid request body"
	msgLinkFailed                  = "Request failed"
	msgLinkNoUser                  = "No user found"
	msgMinimalTooMany              = "Too many requests"
	msgMinimalFailed               = "Something went wrong. Please try again."
	msgMinimalInvalidOTP           = "Invalid OTP"
	msgUserNameOrEmailNoName       = "Either userName or userEmail must be provided!"
	msgUserNameOrEmailLimit        = "OTP request limit exceeded. Please try again later."
	msgUserNameOrEmailFailed       = "An unexpected error occurred. Please try again later."
	msgUserNameOrEmailInvalidEmail = "Invalid Email!"
	msgUserNameOrEmailInvalidName  = "Invalid userName!"
	msgUserNameOrEmailNotVerified  = "Please Validate Your Details."
	// A refused origin, on every route (origin.go).
	msgOriginRefused = "Origin not allowed."
)

var (
	otpCreate = table{
		routes: []string{"POST /auth/otp"}, family: codeByActionBody,
		flow:    flowRequestCode,
		ok:      answer{200, "Successfully sent OTP."},
		invalid: answer{400, msgCodeByActionInvalidBody},
		failed:  answer{500, "Something went wrong. Could not send OTP. Please try again."},
		rules: []rule{
			{errBadAction, answer{400, "Invalid action."}},
			{reset.ErrInvalidEmail, answer{400, msgCodeByActionInvalidBody}},
			{reset.ErrUnknownAccount, answer{404, msgCodeByActionEmailNotFound}},
			{reset.ErrInactiveAccount, answer{404, msgCodeByActionEmailNotFound}},
			{reset.ErrRateLimited, answer{429, "Too many OTP requests. Please try again later."}},
		},
	}
	otpVerify = table{
		routes: []string{"POST /auth/otp"}, family: codeByActionBody,
		flow:    flowVerifyCode,
		ok:      answer{200, "Successfully verified OTP. Choose a new password."},
		invalid: answer{400, msgCodeByActionInvalidBody},
		failed:  answer{500, "Something went wrong. Could not validate OTP. Please try again."},
		// A wrong code is answered as the one-step validate answers it.
		rules: []rule{
			{reset.ErrInvalidEmail, answer{400, msgCodeByActionInvalidBody}},
			{reset.ErrInvalidCode, answer{400, msgInvalidOTP}},
			{reset.ErrDeviceMismatch, answer{400, msgInvalidOTP}},
			{reset.ErrExpired, answer{400, msgInvalidOTP}},
			{reset.ErrNoCode, answer{400, msgInvalidOTP}},
			{reset.ErrUnknownAccount, answer{404, msgCodeByActionEmailNotFound}},
			{reset.ErrInactiveAccount, answer{404, msgCodeByActionEmailNotFound}},
			{reset.ErrTooManyAttempts, answer{429, msgOTPAttempts}},
			{reset.ErrRateLimited, answer{429, msgOTPAttempts}},
		},
	}
	otpComplete = table{
		routes: []string{"POST /auth/otp"}, family: codeByActionBody,
		flow:    flowResetWithGrant,
		ok:      answer{200, "Successfully validated OTP and reset password."},
		invalid: answer{400, msgCodeByActionInvalidBody},
		failed:  answer{500, "Something went wrong. Could not validate OTP. Please try again."},
		// The grant stands for the code it replaced: a dead one is
		// answered as a dead code is, and the user starts again.
		rules: []rule{
			{reset.ErrInvalidToken, answer{400, msgInvalidOTP}},
			{reset.ErrExpired, answer{400, msgInvalidOTP}},
			{reset.ErrRateLimited, answer{429, msgOTPAttempts}},
		},
	}
	otpValidate = table{
		routes: []string{"POST /auth/otp"}, family: codeByActionBody,
		flow:    flowResetWithCode,
		ok:      answer{200, "Successfully validated OTP and reset password."},
		invalid: answer{400, msgCodeByActionInvalidBody},
		failed:  answer{500, "Something went wrong. Could not validate OTP. Please try again."},
		rules: []rule{
			{errBadAction, answer{400, "Invalid action."}},
			{reset.ErrInvalidEmail, answer{400, msgCodeByActionInvalidBody}},
			{reset.ErrInvalidCode, answer{400, msgInvalidOTP}},
			{reset.ErrDeviceMismatch, answer{400, msgInvalidOTP}}, // a code bound to another device (user-name-or-email API): the wrong code
			{reset.ErrExpired, answer{400, msgInvalidOTP}},
			{reset.ErrNoCode, answer{400, msgInvalidOTP}},
			{reset.ErrUnknownAccount, answer{404, msgCodeByActionEmailNotFound}},
			{reset.ErrInactiveAccount, answer{404, msgCodeByActionEmailNotFound}},
			{reset.ErrTooManyAttempts, answer{429, msgOTPAttempts}},
			{reset.ErrRateLimited, answer{429, msgOTPAttempts}},
		},
	}
	emailReset = table{
		routes: []string{"POST /{email}/reset-password"}, family: codeByActionBody,
		flow:    flowResetWithCode,
		ok:      answer{200, "Successfully validated OTP and reset password."},
		invalid: answer{400, msgCodeByActionInvalidBody},
		failed:  answer{500, "Something went wrong. Could not reset password. Please try again."},
		rules: []rule{
			{reset.ErrInvalidEmail, answer{400, msgCodeByActionInvalidBody}},
			{reset.ErrInvalidCode, answer{400, msgInvalidOTP}},
			{reset.ErrDeviceMismatch, answer{400, msgInvalidOTP}}, // a code bound to another device (user-name-or-email API): the wrong code
			{reset.ErrExpired, answer{404, msgInvalidOTP}},
			{reset.ErrNoCode, answer{404, msgNoOTP}},
			{reset.ErrUnknownAccount, answer{404, msgNoOTP}},
			{reset.ErrInactiveAccount, answer{404, msgNoOTP}},
			{reset.ErrTooManyAttempts, answer{429, msgOTPAttempts}},
			{reset.ErrRateLimited, answer{429, msgOTPAttempts}},
		},
	}
	linkRequest = table{
		routes: []string{"POST /auth/request-reset-password"}, family: linkBody,
		flow:    flowRequestLink,
		ok:      answer{200, "Reset link sent"},
		invalid: answer{400, msgLinkInvalidBody},
		failed:  answer{500, msgLinkFailed},
		rules: []rule{
			{reset.ErrInvalidEmail, answer{400, msgLinkInvalidBody}},
			{reset.ErrUnknownAccount, answer{404, msgLinkNoUser}},
			{reset.ErrInactiveAccount, answer{404, msgLinkNoUser}},
			{reset.ErrRateLimited, answer{429, msgLinkTooMany}},
		},
	}
	linkReset = table{
		routes: []string{"POST /auth/reset-password", "POST /auth/reset-password/{token}"}, family: linkBody,
		flow:    flowResetWithLink,
		ok:      answer{200, "Password has been reset"},
		invalid: answer{400, msgLinkInvalidBody},
		failed:  answer{500, msgLinkFailed},
		rules: []rule{
			{reset.ErrInvalidToken, answer{400, msgLinkInvalidToken}},
			{reset.ErrExpired, answer{400, msgLinkInvalidToken}},
			{reset.ErrRateLimited, answer{429, msgLinkTooMany}},
		},
	}
	generate = table{
		routes: []string{"POST /generate-otp"}, family: minimalBody,
		flow:    flowRequestCode,
		ok:      answer{200, "OTP generated and sent"},
		invalid: answer{400, "Email is required"},
		failed:  answer{500, msgMinimalFailed},
		rules: []rule{
			{reset.ErrInvalidEmail, answer{400, "Email is required"}},
			{reset.ErrUnknownAccount, answer{404, "Email not found"}},
			{reset.ErrInactiveAccount, answer{404, "Email not found"}},
			{reset.ErrRateLimited, answer{429, msgMinimalTooMany}},
		},
	}
	seedReset = table{
		routes: []string{"POST /reset-password"}, family: minimalBody,
		flow:    flowResetWithCode,
		ok:      answer{200, "Password has been reset successfully"},
		invalid: answer{400, "Email, OTP, and new password are required"},
		failed:  answer{500, msgMinimalFailed},
		rules: []rule{
			{reset.ErrInvalidEmail, answer{400, "Email, OTP, and new password are required"}},
			{reset.ErrInvalidCode, answer{401, msgMinimalInvalidOTP}},
			{reset.ErrDeviceMismatch, answer{401, msgMinimalInvalidOTP}}, // a code bound to another device (user-name-or-email API): the wrong code
			{reset.ErrExpired, answer{401, msgMinimalInvalidOTP}},
			{reset.ErrNoCode, answer{401, msgMinimalInvalidOTP}},
			{reset.ErrUnknownAccount, answer{401, msgMinimalInvalidOTP}},
			{reset.ErrInactiveAccount, answer{401, msgMinimalInvalidOTP}},
			{reset.ErrTooManyAttempts, answer{429, msgMinimalTooMany}},
			{reset.ErrRateLimited, answer{429, msgMinimalTooMany}},
		},
	}
	armorRequest = table{
		routes: []string{"POST /auth/forgot-password"}, family: usernameOrEmailBody,
		flow:    flowRequestCode,
		ok:      answer{201, "OTP sent to mail!"},
		invalid: answer{400, msgUserNameOrEmailNoName},
		failed:  answer{500, msgUserNameOrEmailFailed},
		rules: []rule{
			{errNoName, answer{400, msgUserNameOrEmailNoName}},
			{reset.ErrInvalidEmail, answer{400, msgUserNameOrEmailInvalidEmail}},
			{reset.ErrInvalidUsername, answer{400, msgUserNameOrEmailInvalidName}},
			{reset.ErrInactiveAccount, answer{400, msgUserNameOrEmailNotVerified}},
			{reset.ErrRateLimited, answer{429, msgUserNameOrEmailLimit}},
		},
	}
	armorReset = table{
		routes: []string{"PUT /auth/forgot-password"}, family: usernameOrEmailBody,
		flow:    flowResetWithCode,
		ok:      answer{201, "Password updated successfully!"},
		invalid: answer{400, msgUserNameOrEmailNoName},
		failed:  answer{500, msgUserNameOrEmailFailed},
		rules: []rule{
			{errNoName, answer{400, msgUserNameOrEmailNoName}},
			{errNoOTP, answer{400, "OTP is required!"}},
			{errNoNewPassword, answer{400, "New password is required!"}},
			{reset.ErrInvalidEmail, answer{400, msgUserNameOrEmailInvalidEmail}},
			{reset.ErrInvalidUsername, answer{400, msgUserNameOrEmailInvalidName}},
			{reset.ErrInactiveAccount, answer{400, msgUserNameOrEmailNotVerified}},
			{reset.ErrExpired, answer{400, "OTP is expired!"}},
			{reset.ErrInvalidCode, answer{400, "Invalid OTP!"}},
			{reset.ErrNoCode, answer{400, "Invalid OTP!"}},
			{reset.ErrDeviceMismatch, answer{401, "Your device is unauthorized."}},
			{reset.ErrTooManyAttempts, answer{429, msgUserNameOrEmailLimit}},
			{reset.ErrRateLimited, answer{429, msgUserNameOrEmailLimit}},
		},
	}
	allTables = []*table{&otpCreate, &otpValidate, &otpVerify, &otpComplete, &emailReset, &linkRequest, &linkReset, &generate, &seedReset, &armorRequest, &armorReset}
)

// answerFor picks the answer for an outcome: nil is success, a rejected
// password answers with its reason, a decoding error with the family's
// "invalid body", a named outcome with its rule, anything else with 500.
func (t *table) answerFor(outcome error) answer {
	var rejected *password.Rejection
	switch {
	case outcome == nil:
		return t.ok
	case errors.As(outcome, &rejected):
		return answer{400, rejected.Reason}
	case errors.Is(outcome, errForeignOrigin):
		// Before any flow, the same on every route.
		return answer{http.StatusForbidden, msgOriginRefused}
	}
	for _, r := range t.rules {
		if errors.Is(outcome, r.outcome) {
			return r.answer
		}
	}
	if errors.Is(outcome, errBadBody) {
		return t.invalid
	}
	return t.failed
}

// respond builds the response. Every response has the same headers whatever
// the outcome, so a known and an unknown account cannot be told apart by
// them; a 429 adds Retry-After in whole seconds.
func (t *table) respond(outcome error) events.APIGatewayV2HTTPResponse {
	a := t.answerFor(outcome)
	headers := map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	if a.status == http.StatusTooManyRequests {
		headers["Retry-After"] = retryAfter(outcome)
	}
	body := t.family(a)
	if a.status < 300 && t.grant != nil {
		body = grantBody(a, *t.grant)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: a.status, Headers: headers, Body: encode(body)}
}

// retryAfter is a 429's Retry-After for outcome, for the JSON answers and
// the reset page alike, and the one place a wait becomes seconds: whole
// seconds until the limit frees (reset.RetryAfter: at least one), rounded
// up so a client that waits this long finds it freed.
func retryAfter(outcome error) string {
	retry := reset.RetryAfter(outcome)
	if retry == 0 {
		retry = 60e9 // a limit without a known end: a minute
	}
	return strconv.Itoa(int(math.Ceil(retry.Seconds())))
}

func encode(body any) string {
	b, err := json.Marshal(body)
	if err != nil {
		return `{"message":"internal error"}` // unreachable: the bodies are fixed structs of strings
	}
	return string(b)
}

// notFound answers a route this function does not serve.
func notFound() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusNotFound,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       `{"message":"Not Found"}`,
	}
}
