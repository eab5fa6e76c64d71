// Package events_test checks the sample API Gateway events in this folder:
// each is a complete HTTP API (payload format 2.0) event for one route, in a
// file named <function>.<what-it-does>.json after the function serving it.
package events_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/reset"
)

// acceptAll is flows that succeed, recording how many calls they had: an
// event the handler answers with 2xx through them has a body it can read.
type acceptAll struct{ calls int }

func (f *acceptAll) RequestCode(context.Context, reset.CodeRequest) error { f.calls++; return nil }
func (f *acceptAll) ResetWithCode(context.Context, reset.CodeReset) error { f.calls++; return nil }
func (f *acceptAll) RequestLink(context.Context, reset.LinkRequest) error { f.calls++; return nil }
func (f *acceptAll) ResetWithLink(context.Context, reset.LinkReset) error { f.calls++; return nil }
func (f *acceptAll) CheckLink(context.Context, reset.Token) error         { f.calls++; return nil }
func (f *acceptAll) VerifyCode(context.Context, reset.CodeCheck) (reset.Grant, error) {
	f.calls++
	return reset.Grant{Token: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", TTL: 300e9}, nil
}
func (f *acceptAll) ResetWithGrant(context.Context, reset.GrantReset) error { f.calls++; return nil }

func TestEvents(t *testing.T) {
	files, err := filepath.Glob("*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no events: %v", err)
	}
	// Which function serves each route key.
	servedBy := map[string]string{}
	for fn, keys := range gateway.FunctionRoutes() {
		for _, k := range keys {
			servedBy[k] = fn
		}
	}
	covered := map[string]bool{}

	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields() // a misspelt field would be silently dropped
			var ev events.APIGatewayV2HTTPRequest
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("decode: %v", err)
			}
			covered[ev.RouteKey] = true

			fn, _, _ := strings.Cut(file, ".")
			if want, ok := servedBy[ev.RouteKey]; !ok {
				t.Errorf("routeKey %q is not in gateway.FunctionRoutes()", ev.RouteKey)
			} else if fn != want {
				t.Errorf("file prefix %q, want %q: the function serving %q", fn, want, ev.RouteKey)
			}
			if ev.Version != "2.0" {
				t.Errorf("version %q, want 2.0", ev.Version)
			}
			if ev.RequestContext.RouteKey != ev.RouteKey {
				t.Errorf("requestContext.routeKey %q, want %q", ev.RequestContext.RouteKey, ev.RouteKey)
			}
			if ev.RequestContext.Stage != "$default" {
				t.Errorf("requestContext.stage %q, want $default", ev.RequestContext.Stage)
			}

			method := ev.RequestContext.HTTP.Method
			if m, _, _ := strings.Cut(ev.RouteKey, " "); method != m {
				t.Errorf("requestContext.http.method %q, want %q from the route key", method, m)
			}
			key, params, ok := apigwtest.Match(gateway.RouteKeys(), method, ev.RawPath)
			if !ok || key != ev.RouteKey {
				t.Errorf("apigwtest.Match(%s %s) = %q, %v; want %q", method, ev.RawPath, key, ok, ev.RouteKey)
			}
			if len(params) > 0 || len(ev.PathParameters) > 0 {
				if !maps.Equal(params, ev.PathParameters) {
					t.Errorf("pathParameters %v, want %v as API Gateway gives them", ev.PathParameters, params)
				}
			}

			for k := range ev.Headers {
				if k != strings.ToLower(k) {
					t.Errorf("header %q is not lower-case, as API Gateway gives them", k)
				}
			}
			// A GET (the reset page a mailed link opens) has no body.
			hasBody := method != "GET"
			if ct := ev.Headers["content-type"]; hasBody && ct != "application/json" {
				t.Errorf("content-type %q, want application/json", ct)
			}
			if ua := ev.Headers["user-agent"]; ua == "" || ua != ev.RequestContext.HTTP.UserAgent {
				t.Errorf("user-agent header %q and requestContext.http.userAgent %q, want the same, not empty", ua, ev.RequestContext.HTTP.UserAgent)
			}
			if ev.RequestContext.HTTP.SourceIP == "" || ev.RequestContext.TimeEpoch == 0 || ev.RequestContext.RequestID == "" {
				t.Errorf("requestContext %+v lacks sourceIp, timeEpoch or requestId", ev.RequestContext)
			}
			if ev.IsBase64Encoded {
				t.Error("isBase64Encoded, want a plain JSON body")
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(ev.Body), &body); hasBody && err != nil {
				t.Errorf("body %q is not a JSON object: %v", ev.Body, err)
			}
			if !hasBody && ev.Body != "" {
				t.Errorf("body %q on a GET, want none", ev.Body)
			}

			// The function's own handler reads it and calls a flow.
			flows := &acceptAll{}
			h, err := gateway.New(flows, slog.New(slog.DiscardHandler), gateway.FunctionRoutes()[fn])
			if err != nil {
				t.Fatalf("gateway.New(%s): %v", fn, err)
			}
			resp, err := h.Handle(t.Context(), ev)
			if err != nil || resp.StatusCode >= 300 || flows.calls != 1 {
				t.Errorf("Handle = %d %s, %v after %d flow calls; want 2xx after one", resp.StatusCode, resp.Body, err, flows.calls)
			}
		})
	}

	for key := range servedBy {
		if !covered[key] {
			t.Errorf("no event for route %q", key)
		}
	}
}
