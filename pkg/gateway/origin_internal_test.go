package gateway

import (
	"fmt"
	"os"
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

// TestMetricsGoToStdoutByDefault: a function's metrics go to standard
// output, where Lambda ships them to CloudWatch Logs and the Embedded Metric
// Format turns them into the metrics template.yaml's alarms watch.
func TestMetricsGoToStdoutByDefault(t *testing.T) {
	h, err := Serve(nil, nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h.opts.Metrics != os.Stdout {
		t.Errorf("Serve with no Options.Metrics writes metrics to %v; want os.Stdout", h.opts.Metrics)
	}
}
