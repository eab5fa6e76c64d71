// Package gateway is the HTTP edge: it turns API Gateway HTTP API (payload
// 2.0) events into calls of the reset flows and their outcomes into the
// contract's responses, for the four route families of docs/contract.md.
//
// A handler decodes, calls one flow, and encodes; the one table that turns
// outcomes into statuses and messages is answers.go. The package knows
// nothing of DynamoDB or SES.
package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/metrics"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// Flows is what the edge asks of the reset service.
type Flows interface {
	RequestCode(ctx context.Context, req reset.CodeRequest) error
	ResetWithCode(ctx context.Context, req reset.CodeReset) error
	VerifyCode(ctx context.Context, req reset.CodeCheck) (reset.Grant, error)
	ResetWithGrant(ctx context.Context, req reset.GrantReset) error
	RequestLink(ctx context.Context, req reset.LinkRequest) error
	ResetWithLink(ctx context.Context, req reset.LinkReset) error
	CheckLink(ctx context.Context, token reset.Token) error
}

// The flows, as the Flow dimension of the metrics names them: each table
// (answers.go) and each page route (routes.go) says which one it answers.
const (
	flowRequestCode    = "RequestCode"
	flowResetWithCode  = "ResetWithCode"
	flowVerifyCode     = "VerifyCode"
	flowResetWithGrant = "ResetWithGrant"
	flowRequestLink    = "RequestLink"
	flowResetWithLink  = "ResetWithLink"
	flowCheckLink      = "CheckLink"
)

// Handler serves a set of routes.
type Handler struct {
	flows   Flows
	log     *slog.Logger
	opts    Options
	origins origins // whose POST and PUT requests are served (origin.go)
	routes  map[string]Route
}

// Options are the settings of the edge: the reset page's, and the browser
// origins it serves.
type Options struct {
	// AppName is shown above the page's heading and in its title; "" for
	// none.
	AppName string
	// LoginURL is offered after a successful reset; "" offers none.
	LoginURL string
	// LogoURL is an https image shown above the page's heading; "" for
	// none. SupportAddress is offered at the page's foot; "" for none.
	LogoURL, SupportAddress string
	// DefaultLanguage is the page's language when the browser's
	// Accept-Language names none the page is written in; "" is English.
	DefaultLanguage string
	// Policy is the new-password policy whose lengths the page states.
	Policy password.Policy

	// AllowedOrigins are the origins of the browser pages allowed to call
	// the API (ALLOWED_ORIGINS), each exactly as a browser sends it in an
	// Origin header: their POST and PUT requests are served. API Gateway's
	// CORS configuration, not this package, lets their scripts read the
	// answers. A POST or PUT from any other origin is refused (origin.go).
	AllowedOrigins []string
	// APIURL is the API's own public base URL (API_URL): the reset page is
	// served from it and posts to it, so its origin is allowed too. When it
	// is "", only AllowedOrigins are, and the reset page's own posts are
	// refused.
	APIURL string

	// Captcha is the bot defence of the send routes (captcha.go); the
	// zero value is off.
	Captcha Captcha

	// Metrics is where each request's metrics are written, as CloudWatch
	// Embedded Metric Format lines, once its answer is built; nil means
	// os.Stdout, which Lambda ships to CloudWatch Logs, where they become
	// metrics without any AWS call.
	Metrics io.Writer
}

// serveFunc decodes one route's request, runs its flow and says which of
// the route's tables answers (a route with two actions has two).
type serveFunc func(ctx context.Context, flows Flows, req request) (*table, error)

// New returns a handler for the named route keys, its reset page with
// the zero Options.
func New(flows Flows, log *slog.Logger, routeKeys []string) (*Handler, error) {
	return NewWithOptions(flows, log, routeKeys, Options{})
}

// NewWithOptions returns a handler for the named route keys, of any
// functions, with opts: the development server and the tests serve every
// route from one handler. It fails when opts.APIURL is not an absolute
// http(s) URL, or opts.Captcha cannot serve the routes (captcha.go).
func NewWithOptions(flows Flows, log *slog.Logger, routeKeys []string, opts Options) (*Handler, error) {
	var routes []Route
	for _, k := range routeKeys {
		r, ok := routeByKey(k)
		if !ok {
			return nil, fmt.Errorf("no handler for route %q", k)
		}
		routes = append(routes, r)
	}
	return Serve(flows, log, routes, opts)
}

// Serve returns a handler for routes with opts: a Lambda function's, from
// its Function. It fails when opts.APIURL is not an absolute http(s) URL,
// or opts.Captcha cannot serve the routes (captcha.go).
func Serve(flows Flows, log *slog.Logger, routes []Route, opts Options) (*Handler, error) {
	o, err := newOrigins(opts)
	if err != nil {
		return nil, err
	}
	if err := opts.Captcha.check(routes); err != nil {
		return nil, err
	}
	if opts.Metrics == nil {
		opts.Metrics = os.Stdout
	}
	h := &Handler{flows: flows, log: log, opts: opts, origins: o, routes: map[string]Route{}}
	for _, r := range routes {
		h.routes[r.Key] = r
	}
	return h, nil
}

// ForFunction returns the handler of the named Lambda function, serving
// exactly its routes, its reset page with the zero Options.
func ForFunction(name string, flows Flows, log *slog.Logger) (*Handler, error) {
	return ForFunctionWithOptions(name, flows, log, Options{})
}

// ForFunctionWithOptions is ForFunction with the reset page's Options.
func ForFunctionWithOptions(name string, flows Flows, log *slog.Logger, opts Options) (*Handler, error) {
	for _, f := range Functions() {
		if f.Name == name {
			return Serve(flows, log, f.Routes, opts)
		}
	}
	return nil, fmt.Errorf("no function %q", name)
}

// RouteKeys lists every route key the package can serve, sorted.
func RouteKeys() []string {
	var keys []string
	for _, f := range Functions() {
		for _, r := range f.Routes {
			keys = append(keys, r.Key)
		}
	}
	sort.Strings(keys)
	return keys
}

// routeByKey finds a route of any function.
func routeByKey(key string) (Route, bool) {
	for _, f := range Functions() {
		for _, r := range f.Routes {
			if r.Key == key {
				return r, true
			}
		}
	}
	return Route{}, false
}

// Serves reports whether the handler serves routeKey.
func (h *Handler) Serves(routeKey string) bool {
	_, ok := h.routes[routeKey]
	return ok
}

// Handle answers one event. It always returns a response and a nil error:
// an error returned to Lambda would become API Gateway's own 500, outside
// the contract.
//
// The flow counts what it does in a metrics.Recorder of this request's
// (package reset, counts.go), which finish writes once the answer is
// built, under the Flow of the table that answered. A request refused
// before its flow ran (a bad body, a refused origin) goes under its
// route's flow, or its route's first action's, and has counted nothing,
// so no line is written for it. A send refused for its bot-defence token
// (captcha.go) is such a request.
func (h *Handler) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, err error) {
	start := time.Now()
	ctx = metrics.NewContext(ctx, &metrics.Recorder{})
	route, ok := h.routes[ev.RouteKey]
	if !ok {
		resp = notFound()
		h.finish(ctx, ev, resp, start, nil, "")
		return resp, nil
	}
	req := newRequest(ev)
	req.captcha = h.opts.Captcha.Verifier
	if outcome := h.checkOrigin(ev.RouteKey, req); outcome != nil {
		// Before any flow and before the page: a form posted from another
		// site gets the route's JSON answer, not a page.
		t := fallbackTable(ev.RouteKey)
		resp = t.respond(outcome)
		h.finish(ctx, ev, resp, start, outcome, t.flow)
		return resp, nil
	}
	if route.page != nil && (route.serve == nil || req.isForm()) {
		return route.answerPage(h, ctx, ev, route.page, route.pageFlow, req, start), nil
	}
	var t *table
	var outcome error
	defer func() {
		if p := recover(); p != nil {
			outcome = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			if t == nil {
				t = fallbackTable(ev.RouteKey)
			}
			resp = t.respond(errPanic)
			h.finish(ctx, ev, resp, start, outcome, t.flow)
			err = nil
		}
	}()
	t, outcome = route.serve(ctx, h.flows, req)
	resp = t.respond(outcome)
	h.finish(ctx, ev, resp, start, outcome, t.flow)
	return resp, nil
}

// handlePage answers with a page, as Handle does with JSON: always a
// response, a panic included. flow is the page route's, for its metrics.
func (h *Handler) handlePage(ctx context.Context, ev events.APIGatewayV2HTTPRequest, serve pageFunc, flow string, req request, start time.Time) (resp events.APIGatewayV2HTTPResponse) {
	var outcome error
	defer func() {
		if p := recover(); p != nil {
			outcome = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
			resp = h.renderFailed()
			h.finish(ctx, ev, resp, start, outcome, flow)
		}
	}()
	var p page
	p, outcome = serve(ctx, h.flows, req)
	resp = h.render(p, outcome, req.acceptLanguage())
	h.finish(ctx, ev, resp, start, outcome, flow)
	return resp
}

// finish ends a request: its log line, then its metrics, written once
// under flow. Writing them can only fail into the log: the answer is
// built, and no metric is worth a failed request.
func (h *Handler) finish(ctx context.Context, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse, start time.Time, outcome error, flow string) {
	h.logRequest(ctx, ev, resp, start, outcome)
	if err := metrics.FromContext(ctx).Flush(h.opts.Metrics, time.Now(), flow); err != nil {
		h.log.WarnContext(ctx, "metrics not written", "route", ev.RouteKey, "error", err)
	}
}

// logRequest writes one line per request: route, status, duration, and for
// anything but a success, the outcome. Outcomes are sentinel errors and
// wrapped dependency errors; no secret is ever put into one.
func (h *Handler) logRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse, start time.Time, outcome error) {
	attrs := []any{
		"route", ev.RouteKey,
		"status", resp.StatusCode,
		"duration_ms", time.Since(start).Milliseconds(),
		"request_id", ev.RequestContext.RequestID,
	}
	level := slog.LevelInfo
	if outcome != nil {
		attrs = append(attrs, "outcome", outcome.Error())
	}
	if resp.StatusCode >= 500 {
		level = slog.LevelError
	}
	h.log.Log(ctx, level, "request", attrs...)
}

// fallbackTable is the table of a route answered before its handler
// chose one: a refused origin, a panic. Where a route has two (the two
// actions of POST /auth/otp), both are of one family, which is all such an
// answer needs.
func fallbackTable(routeKey string) *table {
	for _, t := range allTables {
		if slices.Contains(t.routes, routeKey) {
			return t
		}
	}
	return &linkRequest
}
