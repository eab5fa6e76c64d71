package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the fixed clock of these tests: 2023-11-14T22:13:20.123Z.
var testNow = time.UnixMilli(1700000000123)

// writes records each Write call separately, so a test can see that every
// document is written whole in one call.
type writes struct {
	mu    sync.Mutex
	calls [][]byte
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls = append(w.calls, bytes.Clone(p))
	return len(p), nil
}

// flushLines flushes r and returns the lines it wrote, failing the test
// unless each Write call was exactly one line.
func flushLines(t *testing.T, r *Recorder, flow string) []string {
	t.Helper()
	var w writes
	if err := r.Flush(&w, testNow, flow); err != nil {
		t.Fatalf("Flush: got %v, want nil", err)
	}
	lines := make([]string, len(w.calls))
	for i, call := range w.calls {
		if !bytes.HasSuffix(call, []byte("\n")) || bytes.Count(call, []byte("\n")) != 1 {
			t.Fatalf("Write call %d: got %q, want exactly one line ending in a newline", i, call)
		}
		lines[i] = string(call)
	}
	return lines
}

func TestFlushWritesExactBytes(t *testing.T) {
	var r Recorder
	r.Add(MailSent)
	r.Add(ResetRequested)
	r.Add(MailSent)
	r.AddWith(RateLimited, Scope, "IP")

	got := flushLines(t, &r, "RequestCode")
	want := []string{
		`{"Flow":"RequestCode","MailSent":2,"ResetRequested":1,"_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"],[]],"Metrics":[{"Name":"MailSent","Unit":"Count"},{"Name":"ResetRequested","Unit":"Count"}]}]}}` + "\n",
		`{"Flow":"RequestCode","RateLimited":1,"Scope":"IP","_aws":{"Timestamp":1700000000123,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"],[],["Scope"]],"Metrics":[{"Name":"RateLimited","Unit":"Count"}]}]}}` + "\n",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Flush:\ngot  %q\nwant %q", got, want)
	}
}

func TestFlushOutputIsValidEMF(t *testing.T) {
	tests := []struct {
		name string
		flow string
		add  func(r *Recorder)
	}{
		{"one plain", "RequestCode", func(r *Recorder) { r.Add(ResetRequested) }},
		{"every metric", "ResetWithCode", func(r *Recorder) {
			for _, name := range Names {
				r.Add(name)
			}
		}},
		{"every extra dimension", "ResetWithLink", func(r *Recorder) {
			r.AddWith(RateLimited, Scope, "IP")
			r.AddWith(RateLimited, Scope, "Account")
			r.AddWith(RateLimited, Scope, "Interval")
			r.AddWith(ResetCompleted, Channel, "Link")
			r.AddWith(PasswordRejected, Reason, "TooShort")
		}},
		{"mixed", "CheckLink", func(r *Recorder) {
			r.Add(WrongGuess)
			r.Add(RateLimited)
			r.AddWith(RateLimited, Scope, "IP")
		}},
		{"unsafe values", "user@example.com", func(r *Recorder) {
			r.AddWith(PasswordRejected, Reason, "Password must be at least 8 characters.")
			r.AddWith(RateLimited, Scope, "203.0.113.7")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Recorder
			tt.add(&r)
			lines := flushLines(t, &r, tt.flow)
			if len(lines) == 0 {
				t.Fatal("Flush wrote nothing, want at least one document")
			}
			for _, line := range lines {
				if err := validateEMF([]byte(line)); err != nil {
					t.Errorf("validateEMF(%s): got %v, want nil", line, err)
				}
				if extra := unexpectedRootMembers(t, line); len(extra) > 0 {
					t.Errorf("root of %s: got members %q, want only Flow, one extra dimension, metrics and _aws", line, extra)
				}
			}
		})
	}
}

// unexpectedRootMembers returns the root members of line that are neither
// _aws, Flow, an extra dimension nor a metric in Names: anything else would
// be data the documents must never carry.
func unexpectedRootMembers(t *testing.T, line string) []string {
	t.Helper()
	var root map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &root); err != nil {
		t.Fatalf("unmarshal %s: %v", line, err)
	}
	var extra []string
	dimensions := 0
	for key := range root {
		switch {
		case key == "_aws" || key == Flow || slices.Contains(Names, key):
		case isExtraDimension(key):
			dimensions++
			if dimensions > 1 {
				extra = append(extra, key)
			}
		default:
			extra = append(extra, key)
		}
	}
	return extra
}

func TestFlushWritesNothingWithoutCounts(t *testing.T) {
	tests := []struct {
		name string
		add  func(r *Recorder)
	}{
		{"zero Recorder", func(r *Recorder) {}},
		{"unknown metric", func(r *Recorder) { r.Add("user@example.com") }},
		{"unknown metric with a dimension", func(r *Recorder) { r.AddWith("Signups", Scope, "IP") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Recorder
			tt.add(&r)
			if got := flushLines(t, &r, "RequestCode"); len(got) != 0 {
				t.Errorf("Flush: got %q, want nothing", got)
			}
		})
	}
}

func TestFlushEmptiesTheRecorder(t *testing.T) {
	var r Recorder
	r.Add(MailSent)
	if got := flushLines(t, &r, "RequestCode"); len(got) != 1 {
		t.Fatalf("first Flush: got %d lines, want 1", len(got))
	}
	if got := flushLines(t, &r, "RequestCode"); len(got) != 0 {
		t.Errorf("second Flush: got %q, want nothing", got)
	}
}

type failingWriter struct{ calls int }

var errDiskGone = errors.New("disk gone")

func (w *failingWriter) Write(p []byte) (int, error) {
	w.calls++
	return 0, errDiskGone
}

func TestFlushReturnsTheWriteErrorAndDropsTheCounts(t *testing.T) {
	var r Recorder
	r.Add(MailSent)
	r.AddWith(RateLimited, Scope, "IP")
	var w failingWriter
	err := r.Flush(&w, testNow, "RequestCode")
	if !errors.Is(err, errDiskGone) {
		t.Fatalf("Flush: got %v, want an error wrapping %v", err, errDiskGone)
	}
	if w.calls != 1 {
		t.Errorf("Write calls: got %d, want 1 (stop at the first error)", w.calls)
	}
	if got := flushLines(t, &r, "RequestCode"); len(got) != 0 {
		t.Errorf("Flush after a failed Flush: got %q, want nothing (no count written twice)", got)
	}
}

func TestDimensionValuesAreSanitised(t *testing.T) {
	tests := []struct {
		value string
		want  string
	}{
		{"IP", "IP"},
		{"RequestCode", "RequestCode"},
		{"TooShort8", "TooShort8"},
		{strings.Repeat("a", 32), strings.Repeat("a", 32)},
		{strings.Repeat("a", 33), Other},
		{"", Other},
		{"user@example.com", Other},
		{"203.0.113.7", Other},
		{"2001:db8::1", Other},
		{"123456", Other},
		{"8abc", Other},
		{"Too short", Other},
		{"Password must be at least 8 characters.", Other},
		{"too_short", Other},
		{"Ünïcode", Other},
		{"Line\nBreak", Other},
		{`Quote"`, Other},
		{"Tab\t", Other},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			var r Recorder
			r.AddWith(RateLimited, Scope, tt.value)
			lines := flushLines(t, &r, tt.value)
			if len(lines) != 1 {
				t.Fatalf("Flush: got %d lines, want 1", len(lines))
			}
			doc, ok := Parse([]byte(lines[0]))
			if !ok {
				t.Fatalf("Parse(%s): not a document", lines[0])
			}
			if got := doc.Dimensions[Scope]; got != tt.want {
				t.Errorf("AddWith(RateLimited, Scope, %q): got Scope %q, want %q", tt.value, got, tt.want)
			}
			if got := doc.Dimensions[Flow]; got != tt.want {
				t.Errorf("Flush(flow %q): got Flow %q, want %q", tt.value, got, tt.want)
			}
			if tt.want == Other && len(tt.value) > 2 && strings.Contains(lines[0], tt.value) {
				t.Errorf("Flush wrote %q into %s", tt.value, lines[0])
			}
		})
	}
}

func TestAddWithUnknownDimensionCountsThePlainMetric(t *testing.T) {
	var r Recorder
	r.AddWith(RateLimited, "Email", "alice")
	r.AddWith(RateLimited, Flow, "Injected")
	lines := flushLines(t, &r, "RequestCode")
	if len(lines) != 1 {
		t.Fatalf("Flush: got %q, want one plain document", lines)
	}
	doc, _ := Parse([]byte(lines[0]))
	if got := doc.Counts[RateLimited]; got != 2 {
		t.Errorf("RateLimited: got %d, want 2", got)
	}
	for _, leaked := range []string{"Email", "alice", "Injected"} {
		if strings.Contains(lines[0], leaked) {
			t.Errorf("Flush wrote %q into %s", leaked, lines[0])
		}
	}
}

func TestNilRecorderDoesNothing(t *testing.T) {
	var r *Recorder
	r.Add(MailSent)
	r.AddWith(RateLimited, Scope, "IP")
	var w writes
	if err := r.Flush(&w, testNow, "RequestCode"); err != nil {
		t.Errorf("Flush on nil: got %v, want nil", err)
	}
	if len(w.calls) != 0 {
		t.Errorf("Flush on nil: got %q, want nothing", w.calls)
	}
}

func TestContextCarriesTheRecorder(t *testing.T) {
	if got := FromContext(t.Context()); got != nil {
		t.Errorf("FromContext(no Recorder): got %p, want nil", got)
	}
	r := new(Recorder)
	if got := FromContext(NewContext(t.Context(), r)); got != r {
		t.Errorf("FromContext(NewContext(r)): got %p, want %p", got, r)
	}
	// The point of a nil result: a caller adds without checking.
	FromContext(t.Context()).Add(MailSent)
}

// TestConcurrentAddsAreCountedExactly starts 100 goroutines at once, each
// adding to one Recorder, and checks that Flush counts every Add.
func TestConcurrentAddsAreCountedExactly(t *testing.T) {
	const goroutines, perGoroutine = 100, 50
	var r Recorder
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			<-start
			for range perGoroutine {
				r.Add(WrongGuess)
				r.AddWith(RateLimited, Scope, "IP")
			}
		})
	}
	close(start)
	wg.Wait()

	totals := sumCounts(t, flushLines(t, &r, "ResetWithCode"))
	want := map[string]int64{WrongGuess: goroutines * perGoroutine, RateLimited: goroutines * perGoroutine}
	if !mapsEqual(totals, want) {
		t.Errorf("counts: got %v, want %v", totals, want)
	}
}

// TestFlushRacingAddsLosesNothing flushes while 100 goroutines add: every Add
// lands in exactly one Flush.
func TestFlushRacingAddsLosesNothing(t *testing.T) {
	const goroutines, perGoroutine = 100, 50
	var r Recorder
	var out writes
	start := make(chan struct{})
	var adders sync.WaitGroup
	for range goroutines {
		adders.Go(func() {
			<-start
			for range perGoroutine {
				r.Add(MailSent)
			}
		})
	}
	done := make(chan struct{})
	var flusher sync.WaitGroup
	flusher.Go(func() {
		<-start
		for {
			select {
			case <-done:
				return
			default:
				if err := r.Flush(&out, testNow, "RequestLink"); err != nil {
					t.Errorf("Flush: %v", err)
				}
			}
		}
	})
	close(start)
	adders.Wait()
	close(done)
	flusher.Wait()
	if err := r.Flush(&out, testNow, "RequestLink"); err != nil {
		t.Fatalf("last Flush: %v", err)
	}

	var lines []string
	for _, call := range out.calls {
		lines = append(lines, string(call))
	}
	if got, want := sumCounts(t, lines)[MailSent], int64(goroutines*perGoroutine); got != want {
		t.Errorf("MailSent over every Flush: got %d, want %d", got, want)
	}
}

// sumCounts parses every line and adds up each metric.
func sumCounts(t *testing.T, lines []string) map[string]int64 {
	t.Helper()
	totals := map[string]int64{}
	for _, line := range lines {
		doc, ok := Parse([]byte(line))
		if !ok {
			t.Fatalf("Parse(%s): not a document", line)
		}
		for name, n := range doc.Counts {
			totals[name] += n
		}
	}
	return totals
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
