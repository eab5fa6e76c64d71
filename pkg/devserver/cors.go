package devserver

import (
	"net/http"
	"strings"
)

// CORS as API Gateway does it for an HTTP API whose CORS configuration
// (template.yaml's x-amazon-apigateway-cors) lets in the origins of
// ALLOWED_ORIGINS, reproduced where a browser can tell (Amazon API Gateway
// Developer Guide, "Configure CORS for HTTP APIs"):
//
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
//     answered by the gateway itself, 204 with no body, whatever the path:
//     no route is needed and no function runs. An allowed origin gets the
//     Access-Control-Allow-* headers and Max-Age; any other origin gets
//     none, so the browser stops there.
//   - Every other answer to a request whose Origin is allowed gets
//     Access-Control-Allow-Origin (that origin) and
//     Access-Control-Expose-Headers, and any CORS header the function
//     returned is dropped: the gateway ignores the integration's.
//   - With no origins configured the API has no CORS configuration: an
//     OPTIONS request is routed like any other, and no route takes it (404).
//
// The gateway answers for the browser; whether a POST from another origin
// is served at all is the functions' rule (gateway.Options).

// The rest of the CORS configuration, as template.yaml gives it to API
// Gateway; a test keeps them in step.
const (
	corsAllowMethods  = "GET,POST,PUT"
	corsAllowHeaders  = "Content-Type"
	corsExposeHeaders = "Retry-After"
	corsMaxAge        = "600" // seconds
)

// cors holds the origins whose browser pages may read the API's answers.
type cors map[string]bool

func newCORS(origins []string) cors {
	c := cors{}
	for _, o := range origins {
		c[o] = true
	}
	return c
}

// configured reports whether the API has a CORS configuration at all.
func (c cors) configured() bool { return len(c) > 0 }

// isPreflight reports whether r is a CORS preflight the gateway answers
// itself.
func (c cors) isPreflight(r *http.Request) bool {
	return c.configured() && r.Method == http.MethodOptions &&
		r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers one: 204, with the CORS headers only for an allowed
// origin.
func (c cors) preflight(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); c[origin] {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
		h.Add("Vary", "Origin")
	}
	w.WriteHeader(http.StatusNoContent)
}

// answer adds the headers of an actual answer to r, before anything else
// is written: for an allowed origin, the gateway's own.
func (c cors) answer(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); c[origin] {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		h.Add("Vary", "Origin")
	}
}

// drops reports whether the gateway drops a header the function returned:
// any CORS header, once the API has a CORS configuration.
func (c cors) drops(name string) bool {
	return c.configured() && strings.HasPrefix(strings.ToLower(name), "access-control-")
}
