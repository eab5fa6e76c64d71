package devserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passreset/passreset/pkg/fill"
	"github.com/passreset/passreset/pkg/metrics"
)

// The dev server's own routes, beside the API's: the metrics the handlers
// wrote since start, as a page and as JSON. No route key of the API has a
// first segment "_dev" (a test holds gateway.RouteKeys() to it), so they
// cannot hide one. API Gateway has no such routes: in AWS the same counts
// are CloudWatch metrics, read from the function's log.
const (
	MetricsPath     = "/_dev/metrics"
	MetricsJSONPath = "/_dev/metrics.json"
)

// metricsRefresh is how often the page reloads itself.
const metricsRefresh = 2 // seconds

// counters sums the EMF lines written to it: every passreset metric since
// the dev server started, in total, by Flow and by the extra dimension
// (Scope, Channel or Reason), as CloudWatch would sum them for the [], [Flow]
// and extra dimension sets. Anything that is not an EMF line of
// metrics.Namespace is ignored.
//
// It is safe for concurrent use. A line may come in several Writes, but only
// from one writer at a time: the handlers write each line whole
// (metrics.Recorder.Flush), so lines from two requests never mix.
type counters struct {
	since time.Time

	mu        sync.Mutex
	partial   []byte // the start of a line whose newline has not come yet
	documents int64  // EMF lines summed
	totals    map[string]int64
	byFlow    map[string]map[string]int64         // metric -> Flow -> count
	byExtra   map[string]map[dimensionValue]int64 // metric -> dimension and value -> count
}

// dimensionValue is one value of an extra dimension: Scope IP, Channel Link.
type dimensionValue struct {
	Dimension, Value string
}

func newCounters(since time.Time) *counters {
	return &counters{
		since:   since,
		totals:  map[string]int64{},
		byFlow:  map[string]map[string]int64{},
		byExtra: map[string]map[dimensionValue]int64{},
	}
}

// Write sums the complete lines in p, with the partial line the last Write
// left, and keeps any partial line at p's end for the next. It never fails:
// the handlers' metrics must not break their answers.
func (c *counters) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rest := p
	for {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		if !found {
			break
		}
		if len(c.partial) > 0 {
			line = append(c.partial, line...)
			c.partial = c.partial[:0]
		}
		c.add(line)
		rest = after
	}
	c.partial = append(c.partial, rest...)
	return len(p), nil
}

// add sums one line; c.mu is held.
func (c *counters) add(line []byte) {
	doc, ok := metrics.Parse(line)
	if !ok {
		return
	}
	c.documents++
	flow, hasFlow := doc.Dimensions[metrics.Flow]
	for name, n := range doc.Counts {
		c.totals[name] += n
		if hasFlow {
			if c.byFlow[name] == nil {
				c.byFlow[name] = map[string]int64{}
			}
			c.byFlow[name][flow] += n
		}
		for dim, value := range doc.Dimensions {
			if dim == metrics.Flow {
				continue
			}
			if c.byExtra[name] == nil {
				c.byExtra[name] = map[dimensionValue]int64{}
			}
			c.byExtra[name][dimensionValue{dim, value}] += n
		}
	}
}

// metricsSnapshot is what the routes show, and the JSON route's body.
type metricsSnapshot struct {
	Since     time.Time       `json:"since"`
	Documents int64           `json:"documents"` // EMF lines summed
	Metrics   []metricCounter `json:"metrics"`
}

// metricCounter is one metric's counts. ByDimension maps an extra dimension
// to its values' counts: {"Scope": {"IP": 2}}.
type metricCounter struct {
	Name        string                      `json:"name"`
	Total       int64                       `json:"total"`
	ByFlow      map[string]int64            `json:"by_flow"`
	ByDimension map[string]map[string]int64 `json:"by_dimension"`
}

// snapshot copies the counts: every name of metrics.Names in its order, a
// zero count included, so that a developer sees what exists, then any other
// name a line carried, sorted.
func (c *counters) snapshot() metricsSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	names := slices.Clone(metrics.Names)
	for _, name := range slices.Sorted(maps.Keys(c.totals)) {
		if !slices.Contains(metrics.Names, name) {
			names = append(names, name)
		}
	}

	s := metricsSnapshot{Since: c.since, Documents: c.documents, Metrics: make([]metricCounter, len(names))}
	for i, name := range names {
		m := metricCounter{Name: name, Total: c.totals[name], ByFlow: map[string]int64{}, ByDimension: map[string]map[string]int64{}}
		maps.Copy(m.ByFlow, c.byFlow[name])
		for dv, n := range c.byExtra[name] {
			if m.ByDimension[dv.Dimension] == nil {
				m.ByDimension[dv.Dimension] = map[string]int64{}
			}
			m.ByDimension[dv.Dimension][dv.Value] = n
		}
		s.Metrics[i] = m
	}
	return s
}

// serveDev answers the dev server's own routes and reports whether r was
// one. Only GET is theirs; any other method goes on to the API, which has
// no such route (404). They write no access line: the page asks every
// metricsRefresh seconds.
func (s *Server) serveDev(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	switch r.URL.Path {
	case MetricsJSONPath:
		body, err := json.Marshal(s.metrics.snapshot())
		if err != nil {
			http.Error(w, "could not encode the metrics", http.StatusInternalServerError)
			return true
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
		return true
	case MetricsPath:
		page, err := metricsPage(s.metrics.snapshot(), time.Now())
		if err != nil {
			http.Error(w, "could not render the metrics page", http.StatusInternalServerError)
			return true
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", metricsCSP())
		w.Write([]byte(page))
		return true
	}
	return false
}

// metricsStyle is the page's only style, allowed by its hash; the page has
// no script, and reloads itself with a meta refresh, which a CSP does not
// stop.
const metricsStyle = `body{font:14px system-ui,sans-serif;margin:2em}` +
	`table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}` +
	`td.n{text-align:right;font-variant-numeric:tabular-nums}tr.zero{color:#999}`

// metricsCSP lets the page apply metricsStyle and nothing else.
func metricsCSP() string {
	sum := sha256.Sum256([]byte(metricsStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// The page is a text template whose two holes take only markup made by the
// HTML templates below, which escape every value (a dimension value
// included).
var metricsTemplates = sync.OnceValue(func() (t struct{ page, summary, row *fill.Template }) {
	t.page = fill.MustParse("metrics page", `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="`+strconv.Itoa(metricsRefresh)+`">
<title>passreset dev: metrics</title>
<style>`+metricsStyle+`</style></head>
<body><h1>passreset dev: metrics</h1>
{{.Summary}}
<table>
<thead><tr><th scope="col">Metric</th><th scope="col">Total</th><th scope="col">By Flow</th><th scope="col">By Scope, Channel or Reason</th></tr></thead>
<tbody>
{{.Rows}}</tbody>
</table>
</body></html>
`)
	t.summary = fill.MustParseHTML("metrics summary", `<p>Counted since {{.Since}} ({{.Uptime}} ago), from {{.Documents}} EMF lines; `+
		`this page reloads every `+strconv.Itoa(metricsRefresh)+` s. As JSON: <a href="metrics.json">metrics.json</a>.</p>`)
	t.row = fill.MustParseHTML("metrics row", `<tr class="{{.Class}}"><th scope="row">{{.Name}}</th><td class="n">{{.Total}}</td><td>{{.Flows}}</td><td>{{.Extra}}</td></tr>`+"\n")
	return t
})

// metricsPage renders the page of s at now.
func metricsPage(s metricsSnapshot, now time.Time) (string, error) {
	t := metricsTemplates()
	summary, err := t.summary.Fill(map[string]string{
		"Since":     s.Since.Format("15:04:05"),
		"Uptime":    now.Sub(s.Since).Truncate(time.Second).String(),
		"Documents": strconv.FormatInt(s.Documents, 10),
	})
	if err != nil {
		return "", err
	}
	var rows strings.Builder
	for _, m := range s.Metrics {
		class := "zero"
		if m.Total != 0 {
			class = "counted"
		}
		var extra []string
		for _, dim := range slices.Sorted(maps.Keys(m.ByDimension)) {
			extra = append(extra, dim+" "+counts(m.ByDimension[dim]))
		}
		row, err := t.row.Fill(map[string]string{
			"Class": class,
			"Name":  m.Name,
			"Total": strconv.FormatInt(m.Total, 10),
			"Flows": counts(m.ByFlow),
			"Extra": strings.Join(extra, "; "),
		})
		if err != nil {
			return "", err
		}
		rows.WriteString(row)
	}
	return t.page.Fill(map[string]string{"Summary": summary, "Rows": rows.String()})
}

// counts writes m as "a=1, b=2", sorted by key.
func counts(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+strconv.FormatInt(m[k], 10))
	}
	return strings.Join(parts, ", ")
}
