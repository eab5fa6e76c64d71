// Package apigwtest plays API Gateway's part in front of the functions,
// for the dev server (pkg/devserver), tests and benchmarks: it turns an
// *http.Request into the event an HTTP API gives the function serving the
// request's route, payload format 2.0, as gateway.Handler receives it in
// AWS. Match finds the route; EventFor builds the event.
//
// In AWS, API Gateway builds the events, so the functions (functions/*)
// never link this package; TestFunctionsDoNotLinkIt keeps it so.
package apigwtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Match finds the route key among keys that serves method and path, as API
// Gateway matches them: a literal segment beats a {parameter}, and a
// parameter matches one whole, non-empty segment. path is the raw
// (still URL-encoded) path; parameters are returned as API Gateway gives
// them, decoded.
func Match(keys []string, method, path string) (routeKey string, params map[string]string, ok bool) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	best := -1
	for _, k := range keys {
		m, route, found := strings.Cut(k, " ")
		if !found || m != method {
			continue
		}
		pattern := strings.Split(strings.TrimPrefix(route, "/"), "/")
		if len(pattern) != len(segs) {
			continue
		}
		literal, got := 0, map[string]string{}
		matched := true
		for i, p := range pattern {
			switch {
			case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
				if segs[i] == "" {
					matched = false
				}
				got[p[1:len(p)-1]] = unescape(segs[i])
			case p == segs[i]:
				literal++
			default:
				matched = false
			}
		}
		if matched && literal > best {
			best, routeKey, params = literal, k, got
		}
	}
	return routeKey, params, best >= 0
}

func unescape(s string) string {
	if v, err := url.PathUnescape(s); err == nil {
		return v
	}
	return s
}

// newRequestID is a random id like API Gateway's, for the log line.
func newRequestID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "local"
	}
	return hex.EncodeToString(b)
}

// EventFor builds the API Gateway HTTP API (payload 2.0) event for r, as
// API Gateway would: headers lower-cased, the raw path kept, the client's
// address from the connection (sourceIP), never from a header. params are
// the route's path parameters as Match returns them, URL-decoded once,
// which is how API Gateway fills pathParameters and what the handlers read
// (rawPath is not: behind a named stage or a custom domain's API mapping it
// starts with the stage or the mapping's path). body is r's body, already
// read.
func EventFor(r *http.Request, routeKey string, params map[string]string, body []byte, sourceIP string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        headers,
		PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:  routeKey,
			Stage:     "$default",
			RequestID: newRequestID(),
			TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	// API Gateway passes text as it is and anything else base64-encoded.
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body = base64.StdEncoding.EncodeToString(body)
		ev.IsBase64Encoded = true
	}
	return ev
}
