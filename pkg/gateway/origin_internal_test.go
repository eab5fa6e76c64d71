package gateway

import (
	"fmt"
	"testing"
)

// TestEveryTableRefusesOrigins: a refused origin is 403 "Origin not
// allowed." on every route's table, so none answers it as its 500.
func TestEveryTableRefusesOrigins(t *testing.T) {
	refused := fmt.Errorf("%w: %q", errForeignOrigin, "https://attacker.example")
	for _, tbl := range allTables {
		if got := tbl.answerFor(refused); got != (answer{403, "Origin not allowed."}) {
			t.Errorf("table of %v: a refused origin gets %v, want 403 Origin not allowed.", tbl.routes, got)
		}
	}
}
