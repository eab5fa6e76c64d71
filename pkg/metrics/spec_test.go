package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// specExample is the document that AWS's page "Specification: Embedded metric
// format" (Amazon CloudWatch User Guide,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html),
// section "Embedded metric format example and JSON schema", gives as "a valid
// example of embedded metric format", copied as published.
const specExample = `{
  "_aws": {
    "Timestamp": 1574109732004,
    "CloudWatchMetrics": [
      {
        "Namespace": "lambda-function-metrics",
        "Dimensions": [["functionVersion"]],
        "Metrics": [
          {
            "Name": "time",
            "Unit": "Milliseconds",
            "StorageResolution": 60
          }
        ]
      }
    ]
  },
  "functionVersion": "$LATEST",
  "time": 100,
  "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"
}`

// The limits validateEMF enforces. Each is the page's rule or its JSON
// schema's bound, except where noted.
const (
	// "limited to a maximum size of 256 KB" (the page now says 1 MB; the
	// smaller, older bound is the safe one).
	maxEventBytes = 256 * 1024
	// "A DimensionSet MUST NOT contain more than 30 dimension keys."
	maxDimensionKeys = 30
	// "This array MUST NOT contain more than 100 MetricDefinition objects."
	maxMetricDefinitions = 100
	// "Numeric array metric targets MUST NOT have more than 100 members."
	maxMetricValues = 100
	// A dimension target "MUST NOT contain more than 1024 characters."
	maxDimensionValueLength = 1024
	// Schema: Namespace and MetricName maxLength 1024, DimensionReference 250.
	maxNamespaceLength    = 1024
	maxMetricNameLength   = 1024
	maxDimensionKeyLength = 250
)

// validUnits is the schema's MetricUnit pattern, as a set.
var validUnits = map[string]bool{
	"Seconds": true, "Microseconds": true, "Milliseconds": true, "Bytes": true, "Kilobytes": true,
	"Megabytes": true, "Gigabytes": true, "Terabytes": true, "Bits": true, "Kilobits": true,
	"Megabits": true, "Gigabits": true, "Terabits": true, "Percent": true, "Count": true,
	"Bytes/Second": true, "Kilobytes/Second": true, "Megabytes/Second": true,
	"Gigabytes/Second": true, "Terabytes/Second": true, "Bits/Second": true,
	"Kilobits/Second": true, "Megabits/Second": true, "Gigabits/Second": true,
	"Terabits/Second": true, "Count/Second": true, "None": true,
}

// validateEMF returns nil if line is a valid EMF document by the page's rules
// and schema, written here by hand so that the test needs no schema library.
// It also holds dimension values to CloudWatch's Dimension API rules (ASCII,
// no control characters, not all white space), which decide whether the
// extracted metric is accepted.
func validateEMF(line []byte) error {
	if len(line) > maxEventBytes {
		return fmt.Errorf("document is %d bytes, over %d", len(line), maxEventBytes)
	}
	// "The LogEvent message MUST be a valid JSON object with no additional
	// data at the beginning or end of the LogEvent message string."
	if len(line) == 0 || line[0] != '{' {
		return errors.New("data before the root object")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil || root == nil {
		return fmt.Errorf("root is not a JSON object: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the root object")
	}

	// "Embedded metric format documents MUST contain the following top-level
	// member on the root node": _aws, an object that "MUST contain"
	// CloudWatchMetrics and (schema: required) Timestamp.
	aws, ok := root["_aws"].(map[string]any)
	if !ok {
		return errors.New("_aws is missing or not an object")
	}
	if err := onlyMembers(aws, "CloudWatchMetrics", "Timestamp"); err != nil {
		return fmt.Errorf("_aws: %w", err)
	}
	// "Values MUST be expressed as the number of milliseconds after Jan 1,
	// 1970"; schema: integer.
	ts, ok := aws["Timestamp"].(json.Number)
	if !ok {
		return errors.New("_aws.Timestamp is missing or not a number")
	}
	if n, err := ts.Int64(); err != nil || n < 0 {
		return fmt.Errorf("_aws.Timestamp %s is not a non-negative integer", ts)
	}
	directives, ok := aws["CloudWatchMetrics"].([]any)
	if !ok {
		return errors.New("_aws.CloudWatchMetrics is missing or not an array")
	}
	for i, d := range directives {
		if err := validateDirective(root, d); err != nil {
			return fmt.Errorf("CloudWatchMetrics[%d]: %w", i, err)
		}
	}
	return nil
}

// validateDirective checks one MetricDirective, which "MUST contain"
// Namespace, Dimensions and Metrics, and the root members it references.
func validateDirective(root map[string]any, v any) error {
	d, ok := v.(map[string]any)
	if !ok {
		return errors.New("not an object")
	}
	if err := onlyMembers(d, "Namespace", "Dimensions", "Metrics"); err != nil {
		return err
	}
	if err := validName("Namespace", d["Namespace"], maxNamespaceLength); err != nil {
		return err
	}

	// Schema: Dimensions is an array of at least one DimensionSet.
	sets, ok := d["Dimensions"].([]any)
	if !ok || len(sets) == 0 {
		return errors.New("Dimensions is missing, not an array or empty")
	}
	for i, s := range sets {
		// "A DimensionSet MAY be empty."
		keys, ok := s.([]any)
		if !ok {
			return fmt.Errorf("Dimensions[%d] is not an array", i)
		}
		if len(keys) > maxDimensionKeys {
			return fmt.Errorf("Dimensions[%d] has %d keys, over %d", i, len(keys), maxDimensionKeys)
		}
		for _, k := range keys {
			if err := validName("dimension key", k, maxDimensionKeyLength); err != nil {
				return err
			}
			// "The values within this array MUST also be members on the
			// root-node"; "A dimension target MUST have a string value".
			key := k.(string)
			value, ok := root[key].(string)
			if !ok {
				return fmt.Errorf("dimension %q is not a string member of the root", key)
			}
			if err := validDimensionValue(value); err != nil {
				return fmt.Errorf("dimension %q: %w", key, err)
			}
		}
	}

	defs, ok := d["Metrics"].([]any)
	if !ok {
		return errors.New("Metrics is missing or not an array")
	}
	if len(defs) > maxMetricDefinitions {
		return fmt.Errorf("%d metric definitions, over %d", len(defs), maxMetricDefinitions)
	}
	for i, m := range defs {
		if err := validateDefinition(root, m); err != nil {
			return fmt.Errorf("Metrics[%d]: %w", i, err)
		}
	}
	return nil
}

// validateDefinition checks one MetricDefinition and its target member.
func validateDefinition(root map[string]any, v any) error {
	m, ok := v.(map[string]any)
	if !ok {
		return errors.New("not an object")
	}
	if err := onlyMembers(m, "Name", "Unit", "StorageResolution"); err != nil {
		return err
	}
	if err := validName("Name", m["Name"], maxMetricNameLength); err != nil {
		return err
	}
	if unit, present := m["Unit"]; present {
		if s, ok := unit.(string); !ok || !validUnits[s] {
			return fmt.Errorf("Unit %v is not a CloudWatch unit", unit)
		}
	}
	// "Values SHOULD be valid CloudWatch supported resolutions, 1 or 60."
	if res, present := m["StorageResolution"]; present {
		if n, ok := res.(json.Number); !ok || (n.String() != "1" && n.String() != "60") {
			return fmt.Errorf("StorageResolution %v is not 1 or 60", res)
		}
	}
	// "A metric target MUST be a numeric value or an array of numeric values."
	name := m["Name"].(string)
	switch target := root[name].(type) {
	case json.Number:
	case []any:
		if len(target) > maxMetricValues {
			return fmt.Errorf("metric %q has %d values, over %d", name, len(target), maxMetricValues)
		}
		for _, x := range target {
			if _, ok := x.(json.Number); !ok {
				return fmt.Errorf("metric %q has a value that is not a number", name)
			}
		}
	default:
		return fmt.Errorf("metric %q is not a number or an array of numbers at the root", name)
	}
	return nil
}

// onlyMembers enforces "objects defined by this specification MUST NOT
// contain any additional members", and that the required ones are present.
func onlyMembers(obj map[string]any, allowed ...string) error {
	for key := range obj {
		known := false
		for _, a := range allowed {
			known = known || key == a
		}
		if !known {
			return fmt.Errorf("additional member %q", key)
		}
	}
	for _, a := range allowed {
		optional := a == "Unit" || a == "StorageResolution"
		if _, ok := obj[a]; !ok && !optional {
			return fmt.Errorf("member %q is missing", a)
		}
	}
	return nil
}

// validName checks a string the schema constrains with minLength 1, a
// maxLength and the pattern ^(.*)$ (no line break).
func validName(what string, v any, maxLength int) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("%s %v is not a string", what, v)
	}
	if n := len([]rune(s)); n < 1 || n > maxLength {
		return fmt.Errorf("%s %q has %d characters, want 1 to %d", what, s, n, maxLength)
	}
	if strings.ContainsAny(s, "\n\r") {
		return fmt.Errorf("%s %q contains a line break", what, s)
	}
	return nil
}

// validDimensionValue applies the page's 1024-character bound and the
// CloudWatch Dimension API's rule: "Dimension values must contain only ASCII
// characters and must include at least one non-whitespace character. ASCII
// control characters are not supported".
func validDimensionValue(s string) error {
	if len(s) > maxDimensionValueLength {
		return fmt.Errorf("value has %d characters, over %d", len(s), maxDimensionValueLength)
	}
	if strings.TrimSpace(s) == "" {
		return errors.New("value is empty or white space")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return fmt.Errorf("value %q has a byte that is not printable ASCII", s)
		}
	}
	return nil
}

func TestValidateEMFAcceptsTheSpecExample(t *testing.T) {
	if err := validateEMF([]byte(specExample)); err != nil {
		t.Fatalf("validateEMF(spec example): got %v, want nil", err)
	}
}

// TestValidateEMFRejects shows that the validator can fail: each document
// breaks one rule.
func TestValidateEMFRejects(t *testing.T) {
	const ok = `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["D"],[]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"D":"v","M":1}`
	if err := validateEMF([]byte(ok)); err != nil {
		t.Fatalf("validateEMF(%s): got %v, want nil", ok, err)
	}
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	tests := []struct {
		name string
		doc  string
	}{
		{"not an object", `[1]`},
		{"null", `null`},
		{"prefix", `x {"_aws":{}}`},
		{"trailing data", ok + ` {}`},
		{"no _aws", `{"M":1}`},
		{"no Timestamp", `{"_aws":{"CloudWatchMetrics":[]}}`},
		{"Timestamp not integer", `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[]}}`},
		{"Timestamp a string", `{"_aws":{"Timestamp":"1","CloudWatchMetrics":[]}}`},
		{"extra _aws member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[],"X":1}}`},
		{"no Namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[]}]}}`},
		{"empty Namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"","Dimensions":[[]],"Metrics":[]}]}}`},
		{"no dimension sets", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[],"Metrics":[]}]}}`},
		{"dimension not at root", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["D"]],"Metrics":[]}]}}`},
		{"dimension a number", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["D"]],"Metrics":[]}]},"D":1}`},
		{"dimension value not ASCII", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["D"]],"Metrics":[]}]},"D":"é"}`},
		{"dimension value blank", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[["D"]],"Metrics":[]}]},"D":" "}`},
		{"31 dimension keys", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[` + many(31, `"D"`) + `]],"Metrics":[]}]},"D":"v"}`},
		{"101 metrics", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[` + many(101, `{"Name":"M"}`) + `]}]},"M":1}`},
		{"metric not at root", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]}}`},
		{"metric a string", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":"1"}`},
		{"metric nested", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"A.M"}]}]},"A":{"M":1}}`},
		{"101 metric values", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":[` + many(101, "1") + `]}`},
		{"unknown unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Things"}]}]},"M":1}`},
		{"resolution 5", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"M","StorageResolution":5}]}]},"M":1}`},
		{"extra definition member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"n","Dimensions":[[]],"Metrics":[{"Name":"M","Value":1}]}]},"M":1}`},
		{"too large", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"P":"` + strings.Repeat("x", maxEventBytes) + `"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validateEMF([]byte(tt.doc)); err == nil {
				t.Errorf("validateEMF(%.200s): got nil, want an error", tt.doc)
			}
		})
	}
}
