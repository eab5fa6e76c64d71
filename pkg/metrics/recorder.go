package metrics

import (
	"context"
	"slices"
	"sync"
)

// Recorder holds the counts of one invocation until Flush writes them. It is
// safe for concurrent use, its zero value is ready to use, and every method of
// a nil *Recorder does nothing, so code that runs without metrics needs no
// checks.
type Recorder struct {
	mu     sync.Mutex
	counts map[series]int64
}

// series is what one count is kept under: a metric and, for the metrics that
// carry one, its extra dimension and that dimension's value. dimension and
// value are empty for a plain count.
type series struct {
	metric    string
	dimension string
	value     string
}

// Add counts one occurrence of the metric name, one of Names. A name not in
// Names is ignored: the set of metrics is fixed so that a caller cannot create
// a metric, or a root member of the document, from data.
func (r *Recorder) Add(name string) {
	r.add(series{metric: name})
}

// AddWith counts one occurrence of the metric name with its extra dimension
// (Scope, Channel or Reason) set to value. A value that is not a short ASCII
// identifier is counted as Other, so user input can never reach a dimension.
// A dimension other than Scope, Channel or Reason is dropped and the
// occurrence counted as Add would count it.
func (r *Recorder) AddWith(name, dimension, value string) {
	if !isExtraDimension(dimension) {
		r.add(series{metric: name})
		return
	}
	r.add(series{metric: name, dimension: dimension, value: dimensionValue(value)})
}

func (r *Recorder) add(s series) {
	if r == nil || !slices.Contains(Names, s.metric) {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = make(map[series]int64)
	}
	r.counts[s]++
}

// take returns the counts and leaves the Recorder empty, so that an Add racing
// with Flush lands in the next Flush instead of being lost or written twice.
func (r *Recorder) take() map[series]int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := r.counts
	r.counts = nil
	return counts
}

// isExtraDimension reports whether dimension is one a metric may carry besides
// Flow. Flow itself is not: it is set once per Flush, and a second Flow member
// would clash with it at the document's root.
func isExtraDimension(dimension string) bool {
	return dimension == Scope || dimension == Channel || dimension == Reason
}

// Other is the value written in place of a dimension value that is not a
// short ASCII identifier.
const Other = "Other"

// maxValueLength bounds a dimension value. Every value the service means to
// write (RequestCode, Interval, Link, a policy reason code) is far shorter;
// the bound only keeps a mistake from writing a long string.
const maxValueLength = 32

// dimensionValue returns value if it is a short ASCII identifier (a letter,
// then letters and digits, at most maxValueLength bytes), and Other if not.
// The rule is deliberately narrow: an email, an IP address, a code, a token
// or a sentence all contain a character outside it, so none of them can
// become a dimension value, which CloudWatch would keep as part of a metric's
// identity for 15 months.
func dimensionValue(value string) string {
	if len(value) == 0 || len(value) > maxValueLength {
		return Other
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		digit := '0' <= c && c <= '9'
		if !letter && !(digit && i > 0) {
			return Other
		}
	}
	return value
}

type contextKey struct{}

// NewContext returns a copy of ctx that carries r, for FromContext.
func NewContext(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, contextKey{}, r)
}

// FromContext returns the Recorder NewContext put in ctx, or nil if there is
// none; a nil Recorder counts nothing, so the caller need not check.
func FromContext(ctx context.Context) *Recorder {
	r, _ := ctx.Value(contextKey{}).(*Recorder)
	return r
}
