package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
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
	"github.com/passreset/passreset/pkg/language"
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

// page is one view of the page, its status and its inline messages, each
// the name of a text in page/text/<language>.json ("" for none), written
// in the page's language when it is rendered.
type page struct {
	status        int
	view          string
	formError     string // about the whole form
	passwordError string
	confirmError  string
	emailError    string
}

// Names of the texts the page's messages are, beside the policy's reasons
// (reasonText).
const (
	pageMsgNoPassword = "MsgNoPassword"
	pageMsgNoConfirm  = "MsgNoConfirm"
	pageMsgMismatch   = "MsgMismatch"
	pageMsgBadEmail   = "MsgBadEmail"
	pageMsgTooMany    = "MsgTooMany"
	// The bot-defence check was missing or refused (captcha.go).
	pageMsgCaptcha = "MsgCaptcha"
)

// reasonText names the text of a password.Rejection's rule.
func reasonText(rule string) string { return "Reason" + rule }

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
		return page{status: http.StatusBadRequest, view: viewReset, passwordError: reasonText(rejected.Rule)}, err
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
	if req.captcha != nil {
		// The widget put its token in the form under the provider's own
		// field name.
		if err := req.verifyCaptcha(ctx, form.Get(req.captcha.Provider().FormField())); err != nil {
			return page{status: http.StatusBadRequest, view: viewExpired, formError: pageMsgCaptcha}, err
		}
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

//go:embed page/page.html page/page.css page/page.js page/captcha.html page/text
var pageFiles embed.FS

// The page's languages are page/text/<language>.json, each holding the
// same texts by name, English's first: Spanish addresses the reader as tú,
// as consumer apps do; German as Sie and French as vous, as a company
// writes to its customers about their account. A text may hold {min},
// {max} (the policy's lengths), {n} (the length a reason names) or
// {address} (the support address), filled before it is escaped.

// pageAssets are the parsed page, its inline script and style written
// in, its texts by language, and the Content-Security-Policy that allows
// exactly that script and style; and the same page with the bot-defence
// widget (captcha.go), whose policy also allows the provider's origins.
type pageAssets struct {
	tmpl *fill.Template
	// withWidget carries the widget; awaitingWidget, on the other views,
	// only says that it is on (captchaAwaiting).
	withWidget, awaitingWidget *fill.Template
	texts                      map[string]map[string]string
	languages                  []string
	scriptSrc                  string // the CSP's script-src and style-src, by hash
	styleSrc                   string
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
	widget, err := pageFiles.ReadFile("page/captcha.html")
	if err != nil {
		return nil, fmt.Errorf("read page widget: %w", err)
	}
	tmpl, err := fill.ParseHTML("page.html", string(bytes.Replace(html, []byte(captchaMarker), nil, 1)))
	if err != nil {
		return nil, fmt.Errorf("parse page: %w", err)
	}
	withWidget, err := fill.ParseHTML("page.html", string(bytes.Replace(html, []byte(captchaMarker), widget, 1)))
	if err != nil {
		return nil, fmt.Errorf("parse page with widget: %w", err)
	}
	awaitingWidget, err := fill.ParseHTML("page.html", string(bytes.Replace(html, []byte(captchaMarker), []byte(captchaAwaiting), 1)))
	if err != nil {
		return nil, fmt.Errorf("parse page awaiting widget: %w", err)
	}
	a := &pageAssets{
		tmpl: tmpl, withWidget: withWidget, awaitingWidget: awaitingWidget,
		texts: map[string]map[string]string{}, scriptSrc: cspHash(script), styleSrc: cspHash(style),
	}
	if err := a.readTexts(); err != nil {
		return nil, err
	}
	return a, nil
})

// captchaMarker is where page.html takes the bot-defence widget
// (page/captcha.html), inside the form that asks for a new link.
const captchaMarker = "<!-- captcha widget -->"

// captchaAwaiting stands where the widget would be on a view without it:
// page.js, finding it when a live link's page learns the link is dead,
// reloads the page, which the server then shows with the widget.
const captchaAwaiting = `<div id="captcha" data-captcha-reload hidden></div>`

// pageTemplate is the template of view, and the bot-defence provider's
// origins its policy must allow ("" for none). The widget is carried only
// by the view whose form asks for a new link (viewExpired), which a dead
// link or no link at all shows: the provider's script may read the page's
// URL, so it never runs beside a live token. A live link's page that turns
// out dead while open reloads to get it (page.js).
func (h *Handler) pageTemplate(a *pageAssets, view string) (*fill.Template, string) {
	c := h.opts.Captcha
	switch {
	case !c.on():
		return a.tmpl, ""
	case view == viewExpired:
		return a.withWidget, c.Provider.CSPSources()
	default:
		return a.awaitingWidget, ""
	}
}

// readTexts reads page/text/*.json, and refuses a language that lacks a
// text English has or has one English lacks.
func (a *pageAssets) readTexts() error {
	entries, err := pageFiles.ReadDir("page/text")
	if err != nil {
		return fmt.Errorf("read page texts: %w", err)
	}
	for _, e := range entries {
		lang, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		b, err := pageFiles.ReadFile("page/text/" + e.Name())
		if err != nil {
			return fmt.Errorf("read page texts: %w", err)
		}
		var texts map[string]string
		if err := json.Unmarshal(b, &texts); err != nil {
			return fmt.Errorf("page/text/%s: %w", e.Name(), err)
		}
		a.texts[lang] = texts
		a.languages = append(a.languages, lang)
	}
	en, ok := a.texts["en"]
	if !ok {
		return errors.New("page/text/en.json is missing")
	}
	for lang, texts := range a.texts {
		if len(texts) != len(en) {
			return fmt.Errorf("page/text/%s.json has %d texts, en.json %d", lang, len(texts), len(en))
		}
		for name := range en {
			if _, ok := texts[name]; !ok {
				return fmt.Errorf("page/text/%s.json lacks %q", lang, name)
			}
		}
	}
	return nil
}

// language is the page's language for an Accept-Language header: the
// first it asks for that the page is written in, else the default, else
// English.
func (a *pageAssets) language(acceptLanguage, fallback string) string {
	if l := language.Match(a.languages, language.Preferred(acceptLanguage)...); l != "" {
		return l
	}
	if l := language.Match(a.languages, fallback); l != "" {
		return l
	}
	return "en"
}

// csp is the page's Content-Security-Policy: its own script and style,
// images from itself and from the logo's origin, and, with sources (a
// bot-defence provider's origins, when the page carries its widget), the
// widget's script, frame, style and calls; nothing else.
func (a *pageAssets) csp(logoURL, sources string) string {
	img := "'self' data:"
	if u, err := url.Parse(logoURL); logoURL != "" && err == nil {
		img += " " + u.Scheme + "://" + u.Host
	}
	extra, frame := "", ""
	if sources != "" {
		extra, frame = " "+sources, "; frame-src "+sources
	}
	return "default-src 'none'; script-src " + a.scriptSrc + extra + "; style-src " + a.styleSrc + extra +
		"; img-src " + img + "; connect-src 'self'" + extra + frame + "; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}

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

// render builds the response for p, in the language acceptLanguage asks
// for; outcome supplies a 429's Retry-After.
func (h *Handler) render(p page, outcome error, acceptLanguage string) events.APIGatewayV2HTTPResponse {
	assets, err := loadPageAssets()
	if err != nil {
		return h.renderFailed()
	}
	lang := assets.language(acceptLanguage, h.opts.DefaultLanguage)
	minLen, maxLen := strconv.Itoa(h.opts.minLength()), strconv.Itoa(h.opts.maxLength())
	texts := assets.texts[lang]
	// The texts' placeholders, filled once per render: {n} is the bound
	// a length reason names, and nothing in any other text.
	fill := func(n string) *strings.Replacer {
		return strings.NewReplacer("{min}", minLen, "{max}", maxLen, "{n}", n, "{address}", h.opts.SupportAddress)
	}
	fillPlain, fillShort, fillLong := fill(""), fill(minLen), fill(maxLen)
	// text is the named text in the page's language, its numbers and
	// address filled in; "" for no name.
	text := func(name string) string {
		if name == "" {
			return ""
		}
		r := fillPlain
		switch name {
		case reasonText(password.RuleTooShort):
			r = fillShort
		case reasonText(password.RuleTooLong):
			r = fillLong
		}
		return r.Replace(texts[name])
	}
	title := text("Title")
	if h.opts.AppName != "" {
		title += " · " + h.opts.AppName
	}
	values := map[string]string{
		"Lang":         lang,
		"CaptchaClass": h.opts.Captcha.Provider.WidgetClass(), "CaptchaSiteKey": h.opts.Captcha.SiteKey,
		"CaptchaScript": h.opts.Captcha.Provider.ScriptURL(), "CaptchaField": h.opts.Captcha.Provider.FormField(),
		"Title": title, "AppName": h.opts.AppName, "AppNameHidden": hiddenUnless(h.opts.AppName != ""),
		"Logo": h.opts.LogoURL, "LogoAlt": h.opts.AppName, "LogoHidden": hiddenUnless(h.opts.LogoURL != ""),
		"SupportHidden": hiddenUnless(h.opts.SupportAddress != ""),
		"LoginURL":      h.opts.LoginURL, "LoginHidden": hiddenUnless(h.opts.LoginURL != ""), "CloseHidden": hiddenUnless(h.opts.LoginURL == ""),
		"View":      p.view,
		"MinLength": minLen, "MaxLength": maxLen,
		"ResetHidden": hiddenUnless(p.view == viewReset), "DoneHidden": hiddenUnless(p.view == viewDone),
		"ExpiredHidden": hiddenUnless(p.view == viewExpired), "SentHidden": hiddenUnless(p.view == viewSent),
		"FailedHidden":  hiddenUnless(p.view == viewFailed),
		"FormError":     text(p.formError),
		"PasswordError": text(p.passwordError), "PasswordInvalid": invalidIf(p.passwordError != ""),
		"ConfirmError": text(p.confirmError), "ConfirmInvalid": invalidIf(p.confirmError != ""),
		"EmailError": text(p.emailError), "EmailInvalid": invalidIf(p.emailError != ""),
		"Reasons": h.reasons(text),
	}
	for name := range texts {
		if _, set := values[name]; !set {
			values[name] = text(name)
		}
	}
	tmpl, sources := h.pageTemplate(assets, p.view)
	body, err := tmpl.Fill(values)
	if err != nil {
		return h.renderFailed()
	}
	headers := pageHeaders(assets.csp(h.opts.LogoURL, sources))
	// The same URL answers in each reader's language.
	headers["Content-Language"] = lang
	headers["Vary"] = "Accept-Language"
	if p.status == http.StatusTooManyRequests {
		headers["Retry-After"] = retryAfter(outcome)
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: p.status, Headers: headers, Body: body}
}

// reasons is a JSON object from each of the policy's reasons, worded as a
// JSON answer words it (English, which the contract fixes), to the same
// reason in the page's language: the page's script shows a refused
// password's reason from it.
func (h *Handler) reasons(text func(name string) string) string {
	out := map[string]string{}
	for rule, english := range h.opts.Policy.Reasons() {
		out[english] = text(reasonText(rule))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "{}"
	}
	return string(b)
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
