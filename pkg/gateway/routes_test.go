package gateway_test

import (
	"log/slog"
	"slices"
	"testing"

	"github.com/passreset/passreset/pkg/gateway"
)

// Every route the functions claim has a handler, every handler belongs to
// exactly one function, and a function's handler serves its routes and no
// other.
func TestFunctionRoutesAreServed(t *testing.T) {
	owner := map[string]string{}
	for fn, keys := range gateway.FunctionRoutes() {
		h, err := gateway.ForFunction(fn, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("ForFunction(%q): %v", fn, err)
		}
		for _, k := range gateway.RouteKeys() {
			want := slices.Contains(keys, k)
			if got := h.Serves(k); got != want {
				t.Errorf("%s serves %q: got %v, want %v", fn, k, got, want)
			}
		}
		for _, k := range keys {
			if other, dup := owner[k]; dup {
				t.Errorf("route %q is claimed by %s and %s", k, other, fn)
			}
			owner[k] = fn
		}
	}
	for _, k := range gateway.RouteKeys() {
		if _, ok := owner[k]; !ok {
			t.Errorf("route %q has a handler but no function serves it", k)
		}
	}
}
