package gateway

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/passreset/passreset/pkg/config"
)

// The rule for requests from browsers on other origins (docs/contract.md,
// "browsers on other origins"): a POST or PUT that carries an Origin header
// is served only when that origin is one of Options.AllowedOrigins or the
// API's own (Options.APIURL's); any other, "null" included, is refused
// before any flow runs, so no mail goes out and no guess is counted.
//
// CORS alone would not do it. It keeps a foreign page's script from reading
// an answer, not the request from being sent: an HTML form on any site can
// post to POST /auth/request-reset-password (a form is answered there, see
// page.go) and have a reset link mailed to anyone, and a script's "simple"
// request needs no preflight. Browsers send Origin on every POST and PUT,
// same-origin ones included, so the header tells the API's own reset page
// and the allowed front ends from everyone else. A request without Origin
// (curl, a server calling the API) is not a browser's cross-site request
// and is served as before.
//
// One "null" is the API's own: the reset page is sent with
// Referrer-Policy: no-referrer, to keep its token out of every Referer, and
// under that policy a browser sends Origin: null when the page's form is
// posted without JavaScript, to the page's own origin too (the Fetch
// standard, "append a request Origin header"). Such a post carries
// Sec-Fetch-Site: same-origin, which a browser sets and no page can, so a
// "null" with it is taken for the API's own origin, and served when that
// is (API_URL set). Another site's "null" (a sandboxed frame, a page with
// its own no-referrer policy) says cross-site, or nothing in a browser too
// old to send it, and is refused.
//
// The CORS headers themselves are API Gateway's (the CORS configuration
// template.yaml gives it from the same ALLOWED_ORIGINS): it answers
// preflights itself, adds the headers to the functions' answers and ignores
// any the functions return, so no handler here writes one.

// origins are the origins whose POST and PUT requests a handler serves.
type origins struct {
	allowed map[string]bool // Options.AllowedOrigins, and the API's own
	api     string          // the API's own, "" when Options.APIURL is
}

// newOrigins reads them from opts: AllowedOrigins as given (config.Load
// has checked that each is written as a browser sends it), and the origin
// of APIURL.
func newOrigins(opts Options) (origins, error) {
	o := origins{allowed: map[string]bool{}}
	for _, a := range opts.AllowedOrigins {
		o.allowed[a] = true
	}
	if opts.APIURL != "" {
		api, err := config.Origin(opts.APIURL)
		if err != nil {
			return origins{}, err
		}
		o.api, o.allowed[api] = api, true
	}
	return o, nil
}

// serve reports whether a request whose Origin header is origin ("" when
// it has none) may be served.
func (o origins) serve(origin string, req request) bool {
	switch origin {
	case "":
		return true // not a browser's request from a page
	case "null":
		// The reset page's own form, posted without JavaScript (see above).
		return o.api != "" && req.header("sec-fetch-site") == "same-origin"
	}
	return o.allowed[origin]
}

// checkOrigin applies the rule to a request for routeKey: nil when it may
// be served, or errForeignOrigin wrapped with the origin, for the log.
func (h *Handler) checkOrigin(routeKey string, req request) error {
	method, _, _ := strings.Cut(routeKey, " ")
	if method == http.MethodGet || method == http.MethodHead {
		return nil // it only reads: showing the reset page sends nothing
	}
	origin := req.header("origin")
	if h.origins.serve(origin, req) {
		return nil
	}
	// The origin is the client's to write, so the log gets a bounded,
	// quoted copy; it names a site, never a secret.
	return fmt.Errorf("%w: %.100q", errForeignOrigin, origin)
}
