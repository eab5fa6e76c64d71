package gateway

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Route is one API Gateway route key and how it is answered: by its JSON
// contract, by a page (page.go), or by both, when a browser without
// JavaScript posts a form to a JSON route.
type Route struct {
	Key   string
	serve serveFunc // nil on a route that is only a page
	// sends says the route can send a code or a link: with the bot
	// defence on, it needs a token (captcha.go).
	sends bool
	page  pageFunc // nil on a route without a page
	// pageFlow is the flow page runs, the Flow of its metrics.
	pageFlow string
	// answerPage is (*Handler).handlePage on a route with a page: reached
	// only through a route, so that a function without a page links none
	// of its machinery.
	answerPage func(h *Handler, ctx context.Context, ev events.APIGatewayV2HTTPRequest, serve pageFunc, flow string, req request, start time.Time) events.APIGatewayV2HTTPResponse
}

// withPage is r with its page, which runs flow.
func withPage(r Route, page pageFunc, flow string) Route {
	r.page, r.pageFlow, r.answerPage = page, flow, (*Handler).handlePage
	return r
}

// Function is one Lambda function of template.yaml and the routes it
// serves; template.yaml wires the same pairs, and a test keeps the two in
// step.
//
// Each function's routes are built only by its own constructor below, and
// its main calls only that one: the linker then leaves every other route's
// code, and the flows only they call, out of its bootstrap. Functions, which
// names them all, is for the development server and the tests.
type Function struct {
	Name   string
	Routes []Route
	// HashesWithKey says whether any of its routes' flows hashes with the
	// HMAC key: all but the link reset's do. A function that does not is
	// deployed without access to the key's secret and links no Secrets
	// Manager client.
	HashesWithKey bool
}

// OTPCreate is the otp-create function: the code requests of the minimal
// and the user-name-or-email APIs.
func OTPCreate() Function {
	return Function{Name: "otp-create", HashesWithKey: true, Routes: []Route{
		{Key: "POST /generate-otp", serve: serveGenerate, sends: true},
		{Key: "POST /auth/forgot-password", serve: serveUsernameOrEmailRequest, sends: true},
	}}
}

// OTPValidate is the otp-validate function: every code reset, the two
// steps of POST /auth/otp ("verify", "complete") included. It also
// serves the "create" action of POST /auth/otp: the code-by-action API
// puts both actions on one route, and creating a code needs no permission
// that validating one does not already hold.
func OTPValidate() Function {
	return Function{Name: "otp-validate", HashesWithKey: true, Routes: []Route{
		{Key: "POST /auth/otp", serve: serveOTP, sends: true}, // its "create" action
		{Key: "POST /{email}/reset-password", serve: serveEmailReset},
		{Key: "POST /reset-password", serve: serveMinimalReset},
		{Key: "PUT /auth/forgot-password", serve: serveUsernameOrEmailReset},
	}}
}

// LinkRequest is the link-request function: a link asked for, as JSON or
// from the reset page's form for a new link.
func LinkRequest() Function {
	return Function{Name: "link-request", HashesWithKey: true, Routes: []Route{
		withPage(Route{Key: "POST /auth/request-reset-password", serve: serveLinkRequest, sends: true}, pageRequestForm, flowRequestLink),
	}}
}

// PasswordReset is the password-reset function: a link used, and the page
// the mailed link opens. Showing the page only reads the link, with
// permissions the function has.
func PasswordReset() Function {
	return Function{Name: "password-reset", Routes: []Route{
		withPage(Route{Key: "GET /auth/reset-password/{token}"}, pageOpenLink, flowCheckLink),
		{Key: "POST /auth/reset-password", serve: serveLinkReset},
		withPage(Route{Key: "POST /auth/reset-password/{token}", serve: serveLinkResetInPath}, pageResetForm, flowResetWithLink),
	}}
}

// Sends reports whether any of f's routes can send a code or a link: with
// the bot defence on, f verifies tokens, so it needs the provider's secret.
func (f Function) Sends() bool {
	for _, r := range f.Routes {
		if r.sends {
			return true
		}
	}
	return false
}

// Functions lists every function. A Lambda main must not call it: its
// bootstrap would link every route.
func Functions() []Function {
	return []Function{OTPCreate(), OTPValidate(), LinkRequest(), PasswordReset()}
}

// FunctionRoutes maps each function's name to its route keys.
func FunctionRoutes() map[string][]string {
	m := map[string][]string{}
	for _, f := range Functions() {
		for _, r := range f.Routes {
			m[f.Name] = append(m[f.Name], r.Key)
		}
	}
	return m
}
