package gateway_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/reset"
)

// nopFlows accepts every request, so a benchmark of the handler measures
// the edge alone: matching the event to its route, decoding and validating
// the body, and encoding the answer. The embedded interface stands for any
// flow the benchmarks do not call.
type nopFlows struct{ gateway.Flows }

func (nopFlows) RequestCode(context.Context, reset.CodeRequest) error { return nil }
func (nopFlows) ResetWithCode(context.Context, reset.CodeReset) error { return nil }
func (nopFlows) RequestLink(context.Context, reset.LinkRequest) error { return nil }
func (nopFlows) ResetWithLink(context.Context, reset.LinkReset) error { return nil }

// BenchmarkHandle decodes one request of each route family and answers it,
// with allocations: the edge's share of every request.
func BenchmarkHandle(b *testing.B) {
	h, err := gateway.New(nopFlows{}, slog.New(slog.DiscardHandler), gateway.RouteKeys())
	if err != nil {
		b.Fatal(err)
	}
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for _, bc := range []struct{ name, method, path, body string }{
		{"N/request", "POST", "/auth/otp", `{"action":"create","email":"alice@example.com"}`},
		{"N/reset", "POST", "/auth/otp", `{"action":"validate","email":"alice@example.com","otp":"123456","new_password":"correct horse battery staple"}`},
		{"L/request", "POST", "/auth/request-reset-password", `{"email":"alice@example.com"}`},
		{"L/reset", "POST", "/auth/reset-password/" + token, `{"new_password":"correct horse battery staple"}`},
		{"0/request", "POST", "/generate-otp", `{"email":"alice@example.com"}`},
		{"0/reset", "POST", "/reset-password", `{"email":"alice@example.com","otp":"123456","newPassword":"correct horse battery staple"}`},
		{"E/request", "POST", "/auth/forgot-password", `{"userEmail":"alice@example.com"}`},
		{"E/reset", "PUT", "/auth/forgot-password", `{"userName":"alice","otp":"123456","newPassword":"correct horse battery staple"}`},
	} {
		key, params, ok := apigwtest.Match(gateway.RouteKeys(), bc.method, bc.path)
		if !ok {
			b.Fatalf("no route for %s %s", bc.method, bc.path)
		}
		r := httptest.NewRequest(bc.method, "https://api.example.com"+bc.path, strings.NewReader(bc.body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", "bench/1.0")
		ev := apigwtest.EventFor(r, key, params, []byte(bc.body), "198.51.100.7")
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			resp, err := h.Handle(ctx, ev)
			if err != nil || resp.StatusCode >= 300 {
				b.Fatalf("%s %s: got %d %s, %v; want success", bc.method, bc.path, resp.StatusCode, resp.Body, err)
			}
			b.ReportAllocs()
			for b.Loop() {
				h.Handle(ctx, ev)
			}
		})
	}
}
