package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/fill"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// The reset page: what the mailed link opens. GET shows the new-password
// form; the form posts to the same URL, as JSON from the page's script, or
// as a plain form (application/x-www-form-urlencoded) without JavaScript,
// which is answered with the next page instead of JSON. A dead link shows
// a form that asks for a new one.
//
// The token is in the URL, so every page is sent with no-referrer,
// no-store and noindex, and GET only reads (reset.Service.CheckLink): a
// mail scanner that opens the link burns nothing and counts as no guess.
// The script and the style are inline, allowed by their SHA-256 hashes in
// the Content-Security-Policy; nothing else may load or run, and no other
// site may frame the page.

// The contract's lengths, for a zero password.Policy.
const (
	defaultMinLength = 8
	defaultMaxLength = 128
)

func (o Options) minLength() int {
	if o.Policy.MinLength > 0 {
		return o.Policy.MinLength
	}
	return defaultMinLength
}

func (o Options) maxLength() int {
	if o.Policy.MaxLength > 0 {
		return o.Policy.MaxLength
	}
	return defaultMaxLength
}

// pageFunc answers a request with a page: it decodes, runs at most one
// flow, and says which page the outcome gets.
type pageFunc func(ctx context.Context, flows Flows, req request) (page, error)

// The views of the page: one section each in page/page.html.
const (
	viewReset   = "reset"   // the new-password form
	viewDone    = "done"    // the password was changed
	viewExpired = "expired" // the link is dead; ask for a new one
	viewSent    = "sent"    // a new link was asked for
	viewFailed  = "failed"  // a dependency failed
)

// page is one view of the page, its status and its inline messages.
type page struct {
	status        int
	view          string
	formError     string // about the whole form
	passwordError string
	confirmError  string
	emailError    string
}

// Messages the page shows, beside the policy's reasons.
const (
	pageMsgNoPassword = "Enter a new password."
	pageMsgNoConfirm  = "Enter the new password again."
	pageMsgMismatch   = "The two passwords do not match. Enter the new password in both fields again."
	pageMsgBadEmail   = "Enter a valid email address, like name@example.com."
	pageMsgTooMany    = "Too many attempts from your network. Please wait a few minutes and try again."
)

// pageOpenLink is GET /auth/reset-password/{token}: the form if the link
// is live, else the page that asks for a new one. It only reads.
func pageOpenLink(ctx context.Context, flows Flows, req request) (page, error) {
	err := flows.CheckLink(ctx, reset.Token(req.ev.PathParameters["token"]))
	switch {
	case err == nil:
		return page{status: http.StatusOK, view: viewReset}, nil
	case errors.Is(err, reset.ErrInvalidToken):
		return page{status: http.StatusNotFound, view: viewExpired}, err
	default:
		return page{status: http.StatusInternalServerError, view: viewFailed}, err
	}
}

// pageResetForm is the new-password form posted without JavaScript to
// POST /auth/reset-password/{token}: new_password and confirm_password.
// A mismatch is answered before any flow runs, so it costs nothing.
func pageResetForm(ctx context.Context, flows Flows, req request) (page, error) {
	form, err := req.form()
	if err != nil {
		return page{status: http.StatusBadRequest, view: viewReset, passwordError: pageMsgNoPassword}, err
	}
	newPassword, confirm := form.Get("new_password"), form.Get("confirm_password")
	switch {
	case newPassword == "":
		return page{status: http.StatusBadRequest, view: viewReset, passwordError: pageMsgNoPassword}, errBadBody
	case confirm == "":
		return page{status: http.StatusBadRequest, view: viewReset, confirmError: pageMsgNoConfirm}, errBadBody
	case confirm != newPassword:
		return page{status: http.StatusBadRequest, view: viewReset, confirmError: pageMsgMismatch}, errBadBody
	}
	err = flows.ResetWithLink(ctx, reset.LinkReset{
		Token: reset.Token(req.ev.PathParameters["token"]), NewPassword: newPassword, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage(),
	})
	var rejected *password.Rejection
	switch {
	case err == nil:
		return page{status: http.StatusOK, view: viewDone}, nil
	case errors.As(err, &rejected):
		return page{status: http.StatusBadRequest, view: viewReset, passwordError: rejected.Reason}, err
	case errors.Is(err, reset.ErrInvalidToken), errors.Is(err, reset.ErrExpired):
		return page{status: http.StatusBadRequest, view: viewExpired}, err
	case errors.Is(err, reset.ErrRateLimited):
		return page{status: http.StatusTooManyRequests, view: viewReset, formError: pageMsgTooMany}, err
	default:
		return page{status: http.StatusInternalServerError, view: viewFailed}, err
	}
}

// pageRequestForm is the request-a-new-link form posted without
// JavaScript to POST /auth/request-reset-password: email. An unknown
// account gets the same page as a known one, even where the JSON answer
// reveals it: the page's sentence is true either way.
func pageRequestForm(ctx context.Context, flows Flows, req request) (page, error) {
	bad := page{status: http.StatusBadRequest, view: viewExpired, emailError: pageMsgBadEmail}
	form, err := req.form()
	if err != nil {
		return bad, err
	}
	email, err := reset.ParseEmail(form.Get("email"))
	if err != nil {
		return bad, err
	}
	err = flows.RequestLink(ctx, reset.LinkRequest{Email: email, IP: req.sourceIP(), AcceptLanguage: req.acceptLanguage()})
	switch {
	case err == nil, errors.Is(err, reset.ErrUnknownAccount), errors.Is(err, reset.ErrInactiveAccount):
		return page{status: http.StatusOK, view: viewSent}, err
	case errors.Is(err, reset.ErrRateLimited):
		return page{status: http.StatusTooManyRequests, view: viewExpired, formError: pageMsgTooMany}, err
	default:
		return page{status: http.StatusInternalServerError, view: viewFailed}, err
	}
}

// isForm reports whether the request is a form posted by a browser
// without JavaScript: urlencoded, from a navigation that asks for HTML
// (every browser's Accept for a form submission names text/html). Any
// other client, a urlencoded one included, keeps the contract's JSON
// answers, byte for byte.
func (r request) isForm() bool {
	mt, _, err := mime.ParseMediaType(r.header("content-type"))
	return err == nil && mt == "application/x-www-form-urlencoded" && acceptsHTML(r.header("accept"))
}

// acceptsHTML reports whether an Accept header names text/html with a
// non-zero quality.
func acceptsHTML(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || mt != "text/html" {
			continue
		}
		if q, err := strconv.ParseFloat(params["q"], 64); params["q"] == "" || (err == nil && q > 0) {
			return true
		}
	}
	return false
}

// form decodes a urlencoded body of at most 16 KiB in which no field
// appears twice, for the same reason as in body.
func (r request) form() (url.Values, error) {
	raw := r.ev.Body
	if r.ev.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(raw)) > maxBody+3 {
			return nil, errBadBody
		}
		b, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return nil, errBadBody
		}
		raw = string(b)
	}
	if len(raw) > maxBody {
		return nil, errBadBody
	}
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errBadBody
	}
	for _, v := range values {
		if len(v) > 1 {
			return nil, errBadBody
		}
	}
	return values, nil
}

//go:embed page/page.html page/page.css page/page.js
var pageFiles embed.FS

// pageAssets are the parsed page, its inline script and style written
// in, and the Content-Security-Policy that allows exactly those two.
type pageAssets struct {
	tmpl *fill.Template
	csp  string
}

// loadPageAssets reads the embedded files once, on the first page served.
var loadPageAssets = sync.OnceValues(func() (*pageAssets, error) {
	html, err := pageFiles.ReadFile("page/page.html")
	if err != nil {
		return nil, fmt.Errorf("read page: %w", err)
	}
	script, err := pageFiles.ReadFile("page/page.js")
	if err != nil {
		return nil, fmt.Errorf("read page script: %w", err)
	}
	style, err := pageFiles.ReadFile("page/page.css")
	if err != nil {
		return nil, fmt.Errorf("read page style: %w", err)
	}
	// The script and the style are ours, so they are written into the
	// page before it is parsed, where no hole may be.
	html = bytes.Replace(html, []byte("{{.Style}}"), style, 1)
	html = bytes.Replace(html, []byte("{{.Script}}"), script, 1)
	tmpl, err := fill.ParseHTML("page.html", string(html))
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	return &pageAssets{
		tmpl: tmpl,
		csp: "default-src 'none'; script-src " + cspHash(script) + "; style-src " + cspHash(style) +
			"; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	}, nil
})

// cspHash is the CSP source that allows an inline element whose content
// is exactly b.
func cspHash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// pageHeaders are sent with every page. The token is in the URL, so no
// request from the page may carry it away in a Referer, and neither a
// cache nor a search engine may keep the page. Under no-referrer a browser
// posts the page's form with Origin: null; origin.go knows it by
// Sec-Fetch-Site.
func pageHeaders(csp string) map[string]string {
	return map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Robots-Tag":            "noindex, nofollow",
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": csp,
	}
}

// failedPage is sent when the page itself cannot be rendered; it needs no
// script or style, so its policy allows none.
const failedPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>` +
	`<body><main><h1>Something went wrong</h1><p>Please try again in a moment.</p></main></body></html>`

// render builds the response for p; outcome supplies a 429's Retry-After.
func (h *Handler) render(p page, outcome error) events.APIGatewayV2HTTPResponse {
	assets, err := loadPageAssets()
	if err != nil {
		return h.renderFailed()
	}
	title := "Reset your password"
	if h.opts.AppName != "" {
		title += " · " + h.opts.AppName
	}
	body, err := assets.tmpl.Fill(map[string]string{
		"Title": title, "AppName": h.opts.AppName, "AppNameHidden": hiddenUnless(h.opts.AppName != ""),
		"LoginURL": h.opts.LoginURL, "LoginHidden": hiddenUnless(h.opts.LoginURL != ""), "CloseHidden": hiddenUnless(h.opts.LoginURL == ""),
		"View":      p.view,
		"MinLength": strconv.Itoa(h.opts.minLength()), "MaxLength": strconv.Itoa(h.opts.maxLength()),
		"ResetHidden": hiddenUnless(p.view == viewReset), "DoneHidden": hiddenUnless(p.view == viewDone),
		"ExpiredHidden": hiddenUnless(p.view == viewExpired), "SentHidden": hiddenUnless(p.view == viewSent),
		"FailedHidden":  hiddenUnless(p.view == viewFailed),
		"FormError":     p.formError,
		"PasswordError": p.passwordError, "PasswordInvalid": invalidIf(p.passwordError != ""),
		"ConfirmError": p.confirmError, "ConfirmInvalid": invalidIf(p.confirmError != ""),
		"EmailError": p.emailError, "EmailInvalid": invalidIf(p.emailError != ""),
	})
	if err != nil {
		return h.renderFailed()
	}
	headers := pageHeaders(assets.csp)
	if p.status == http.StatusTooManyRequests {
		headers["Retry-After"] = retryAfter(outcome)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: p.status, Headers: headers, Body: body}
}

// hiddenUnless is the attribute that hides an element of the page unless
// shown.
func hiddenUnless(shown bool) string {
	if shown {
		return ""
	}
	return " hidden"
}

// invalidIf is the attribute that marks a field invalid when it is.
func invalidIf(invalid bool) string {
	if invalid {
		return ` aria-invalid="true"`
	}
	return ""
}

func (h *Handler) renderFailed() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: http.StatusInternalServerError,
		Headers:    pageHeaders("default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
		Body:       failedPage,
	}
}
