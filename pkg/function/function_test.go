package function

import (
	"os"
	"testing"

	"github.com/passreset/passreset/pkg/config"
)

// TestPageOptionsWriteMetricsToStdout: a function's metrics go to standard
// output, where Lambda ships them to CloudWatch Logs and the Embedded Metric
// Format turns them into the metrics template.yaml's alarms watch. Anywhere
// else, no alarm would ever see them.
func TestPageOptionsWriteMetricsToStdout(t *testing.T) {
	if got := PageOptions(config.Config{}).Metrics; got != os.Stdout {
		t.Errorf("PageOptions(cfg).Metrics: got %v, want os.Stdout", got)
	}
}
