package metrics

import (
	"bytes"
	"encoding/json"
)

// Document is what Parse reads from one EMF line of Namespace.
type Document struct {
	// Counts maps each metric the document publishes to its value.
	Counts map[string]int64
	// Dimensions maps each dimension the document names (Flow, and Scope,
	// Channel or Reason where one is set) to its value.
	Dimensions map[string]string
}

// Parse reads one line of output. It reports false unless the line is an EMF
// document with a directive of Namespace whose every metric is an integer
// and every dimension a string, as Flush writes them. Each count is in exactly
// one document of a Flush, so summing Counts over the lines gives the totals:
// this is how tests and the dev server read the metrics back.
func Parse(line []byte) (Document, bool) {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] != '{' {
		return Document{}, false // not JSON: an ordinary log line
	}
	var root map[string]json.RawMessage
	if json.Unmarshal(line, &root) != nil {
		return Document{}, false
	}
	var meta metadata
	if raw, ok := root["_aws"]; !ok || json.Unmarshal(raw, &meta) != nil {
		return Document{}, false
	}
	doc := Document{Counts: map[string]int64{}, Dimensions: map[string]string{}}
	found := false
	for _, d := range meta.CloudWatchMetrics {
		if d.Namespace != Namespace {
			continue
		}
		found = true
		for _, set := range d.Dimensions {
			for _, key := range set {
				value, ok := stringMember(root[key])
				if !ok {
					return Document{}, false
				}
				doc.Dimensions[key] = value
			}
		}
		for _, m := range d.Metrics {
			n, ok := integerMember(root[m.Name])
			if !ok {
				return Document{}, false
			}
			doc.Counts[m.Name] = n
		}
	}
	if !found {
		return Document{}, false
	}
	return doc, true
}

// stringMember decodes a root member that must be a JSON string. A missing
// member or null is not one, though json.Unmarshal would accept null.
func stringMember(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// integerMember decodes a root member that must be a JSON integer.
func integerMember(raw json.RawMessage) (int64, bool) {
	var n int64
	if len(raw) == 0 || raw[0] == 'n' || json.Unmarshal(raw, &n) != nil {
		return 0, false
	}
	return n, true
}
