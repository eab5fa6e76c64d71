package metrics

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// The EMF document, as AWS's "Specification: Embedded metric format" page
// defines it: the root holds the _aws metadata object and, as plain members,
// every dimension value and metric value the directives name.
type metadata struct {
	Timestamp         int64       `json:"Timestamp"` // milliseconds since the Unix epoch
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

// definition leaves out StorageResolution: the spec's default, 60 seconds, is
// what the alarms want, and high resolution costs more.
type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// unitCount is the CloudWatch unit of every metric here.
const unitCount = "Count"

// Flush writes the counts as CloudWatch Embedded Metric Format documents and
// leaves r empty. flow is the value of the Flow dimension (RequestCode,
// ResetWithCode, VerifyCode, ResetWithGrant, RequestLink, ResetWithLink or
// CheckLink); like every
// dimension value it is written as Other unless it is a short ASCII
// identifier. now gives the documents' timestamp.
//
// Each document is one JSON line written with one Write call, so on standard
// output it never interleaves with another log line. The metrics counted with
// Add share one document; those counted with AddWith get one document per
// extra dimension and value. Every metric is published under the dimension
// sets [Flow] and [] (the service-wide total, which the alarms watch), and an
// AddWith metric under its extra dimension as well. A metric never added is
// not written, and a Recorder with no counts writes nothing. The documents'
// root holds only Flow, the extra dimension's value and the counts: never a
// request id, an address, an account or anything else from a request.
//
// Because one metric can appear in several documents of one Flush (RateLimited
// with Scope IP and with Scope Account), its [Flow] and [] series receive
// several values a minute: alarms and dashboards must use the Sum statistic.
//
// Flush makes no AWS call. It returns the first write error; the counts are
// gone either way, since writing them again later would count them twice.
func (r *Recorder) Flush(w io.Writer, now time.Time, flow string) error {
	if r == nil {
		return nil
	}
	for _, doc := range documents(r.take(), flow) {
		line, err := doc.encode(now)
		if err != nil {
			return fmt.Errorf("encode metrics: %w", err)
		}
		if _, err := w.Write(line); err != nil {
			return fmt.Errorf("write metrics: %w", err)
		}
	}
	return nil
}

// document is the content of one EMF line before encoding: the counts that
// share one extra dimension and value, or none.
type document struct {
	flow      string
	dimension string // empty for the plain document
	value     string
	counts    map[string]int64 // metric name to count
}

// documents groups counts into documents: the plain one first, then one per
// extra dimension and value in sorted order, so the output is deterministic.
func documents(counts map[series]int64, flow string) []document {
	flow = dimensionValue(flow)
	byKey := make(map[series]*document)
	for s, n := range counts {
		key := series{dimension: s.dimension, value: s.value}
		doc := byKey[key]
		if doc == nil {
			doc = &document{flow: flow, dimension: s.dimension, value: s.value, counts: make(map[string]int64)}
			byKey[key] = doc
		}
		doc.counts[s.metric] += n
	}
	docs := make([]document, 0, len(byKey))
	for _, doc := range byKey {
		docs = append(docs, *doc)
	}
	slices.SortFunc(docs, func(a, b document) int {
		return cmp.Or(cmp.Compare(a.dimension, b.dimension), cmp.Compare(a.value, b.value))
	})
	return docs
}

// encode returns the document as one line of JSON ending in a newline.
func (d document) encode(now time.Time) ([]byte, error) {
	// The empty set publishes the metric with no dimension at all; the spec
	// says "A DimensionSet MAY be empty", and the official libraries write
	// [[]] when told to use no dimensions.
	sets := [][]string{{Flow}, {}}
	root := map[string]any{Flow: d.flow}
	if d.dimension != "" {
		sets = append(sets, []string{d.dimension})
		root[d.dimension] = d.value
	}
	names := slices.Sorted(maps.Keys(d.counts))
	defs := make([]definition, len(names))
	for i, name := range names {
		defs[i] = definition{Name: name, Unit: unitCount}
		root[name] = d.counts[name]
	}
	root["_aws"] = metadata{
		Timestamp: now.UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  Namespace,
			Dimensions: sets,
			Metrics:    defs,
		}},
	}
	// encoding/json writes map keys in sorted order, which makes the line
	// the same bytes for the same counts.
	line, err := json.Marshal(root)
	if err != nil {
		return nil, err
	}
	return append(line, '\n'), nil
}
