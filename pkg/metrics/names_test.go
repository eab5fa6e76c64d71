package metrics

import "testing"

// TestNamesAreValidMetricNames checks each name against the EMF schema's
// MetricName rules (validName) and CloudWatch's MetricDatum limit of 255
// characters, and that none can clash with another member of the document's
// root, where metric values and dimension values sit side by side.
func TestNamesAreValidMetricNames(t *testing.T) {
	if len(Names) > maxMetricDefinitions {
		t.Errorf("len(Names): got %d, want at most %d, the metrics one EMF directive may hold", len(Names), maxMetricDefinitions)
	}
	seen := map[string]bool{}
	for _, name := range Names {
		if err := validName("metric name", name, maxMetricNameLength); err != nil {
			t.Errorf("%q: %v", name, err)
		}
		if len(name) > 255 {
			t.Errorf("%q: %d characters, over CloudWatch's 255", name, len(name))
		}
		if dimensionValue(name) != name {
			t.Errorf("%q: want a plain ASCII identifier", name)
		}
		if name == Flow || isExtraDimension(name) || name == "_aws" {
			t.Errorf("%q: clashes with a root member of the document", name)
		}
		if seen[name] {
			t.Errorf("%q: listed twice in Names", name)
		}
		seen[name] = true
	}
}
