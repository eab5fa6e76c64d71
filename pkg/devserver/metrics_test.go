package devserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/metrics"
	"github.com/passreset/passreset/pkg/reset"
)

// flushed is what three requests' Recorders write: the EMF lines the
// handlers write, and the counts they hold.
func flushed(t *testing.T) []byte {
	t.Helper()
	var out bytes.Buffer
	now := time.Unix(1700000000, 0)
	flush := func(flow string, add func(r *metrics.Recorder)) {
		var r metrics.Recorder
		add(&r)
		if err := r.Flush(&out, now, flow); err != nil {
			t.Fatal(err)
		}
	}
	flush("RequestCode", func(r *metrics.Recorder) {
		r.Add(metrics.ResetRequested)
		r.Add(metrics.ResetRequested)
		r.Add(metrics.MailSent)
		r.AddWith(metrics.RateLimited, metrics.Scope, "IP")
		r.AddWith(metrics.RateLimited, metrics.Scope, "Account")
		r.AddWith(metrics.RateLimited, metrics.Scope, "Account")
	})
	flush("ResetWithCode", func(r *metrics.Recorder) {
		r.Add(metrics.WrongGuess)
		r.Add(metrics.WrongGuess)
		r.Add(metrics.WrongGuess)
		r.AddWith(metrics.ResetCompleted, metrics.Channel, "Code")
		r.AddWith(metrics.PasswordRejected, metrics.Reason, "TooShort")
	})
	flush("RequestLink", func(r *metrics.Recorder) {
		r.Add(metrics.ResetRequested)
		r.AddWith(metrics.RateLimited, metrics.Scope, "IP")
	})
	return out.Bytes()
}

// flushedDocuments is the number of lines flushed writes: RequestCode's
// plain document and one per Scope, ResetWithCode's plain, Channel and
// Reason documents, RequestLink's plain and Scope IP documents.
const flushedDocuments = 8

// flushedCounts is what counters should make of flushed: every metric of
// metrics.Names, in order, the ones never counted at zero.
func flushedCounts() []metricCounter {
	counted := map[string]metricCounter{
		metrics.ResetRequested: {Total: 3, ByFlow: map[string]int64{"RequestCode": 2, "RequestLink": 1}},
		metrics.MailSent:       {Total: 1, ByFlow: map[string]int64{"RequestCode": 1}},
		metrics.RateLimited: {Total: 4, ByFlow: map[string]int64{"RequestCode": 3, "RequestLink": 1},
			ByDimension: map[string]map[string]int64{"Scope": {"IP": 2, "Account": 2}}},
		metrics.WrongGuess: {Total: 3, ByFlow: map[string]int64{"ResetWithCode": 3}},
		metrics.ResetCompleted: {Total: 1, ByFlow: map[string]int64{"ResetWithCode": 1},
			ByDimension: map[string]map[string]int64{"Channel": {"Code": 1}}},
		metrics.PasswordRejected: {Total: 1, ByFlow: map[string]int64{"ResetWithCode": 1},
			ByDimension: map[string]map[string]int64{"Reason": {"TooShort": 1}}},
	}
	var want []metricCounter
	for _, name := range metrics.Names {
		m := counted[name]
		m.Name = name
		if m.ByFlow == nil {
			m.ByFlow = map[string]int64{}
		}
		if m.ByDimension == nil {
			m.ByDimension = map[string]map[string]int64{}
		}
		want = append(want, m)
	}
	return want
}

// junk is what shares a function's output with the EMF lines, and is not
// a passreset metric.
var junk = []string{
	"START RequestId: 8f5c Version: $LATEST",
	`{"time":"2024-01-01T00:00:00Z","level":"INFO","msg":"request","route":"POST /auth/otp"}`,
	`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"other","Dimensions":[["Flow"]],"Metrics":[{"Name":"ResetRequested","Unit":"Count"}]}]},"Flow":"RequestCode","ResetRequested":100}`,
	`{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"]],"Metrics":[{"Name":"ResetRequested","Unit":"Count"}]}]},"Flow":"RequestCode","ResetRequested":"100"}`,
	`{"_aws":`,
	"",
}

func TestCountersSum(t *testing.T) {
	lines := flushed(t)
	var mixed bytes.Buffer // junk before, between and after the EMF lines
	for i, line := range bytes.SplitAfter(lines, []byte("\n")) {
		mixed.WriteString(junk[i%len(junk)] + "\n")
		mixed.Write(line)
	}
	mixed.WriteString(strings.Join(junk, "\n") + "\n")

	for _, tc := range []struct {
		name  string
		chunk int // bytes per Write; 0 for one Write
	}{
		{"one Write", 0},
		{"a byte a Write", 1},
		{"7 bytes a Write", 7},
		{"100 bytes a Write", 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCounters(time.Now())
			b := mixed.Bytes()
			for len(b) > 0 {
				n := len(b)
				if tc.chunk > 0 && tc.chunk < n {
					n = tc.chunk
				}
				if got, err := c.Write(b[:n]); got != n || err != nil {
					t.Fatalf("Write(%q): got %d, %v, want %d, nil", b[:n], got, err, n)
				}
				b = b[n:]
			}
			s := c.snapshot()
			if s.Documents != flushedDocuments {
				t.Errorf("documents: got %d, want %d", s.Documents, flushedDocuments)
			}
			if want := flushedCounts(); !reflect.DeepEqual(s.Metrics, want) {
				t.Errorf("counts:\n got %+v\nwant %+v", s.Metrics, want)
			}
		})
	}
}

// TestCountersWaitForTheNewline: a line is counted once its newline comes,
// not before, and not twice.
func TestCountersWaitForTheNewline(t *testing.T) {
	var r metrics.Recorder
	r.Add(metrics.MailSent)
	var line bytes.Buffer
	if err := r.Flush(&line, time.Now(), "RequestCode"); err != nil {
		t.Fatal(err)
	}
	c := newCounters(time.Now())
	b := line.Bytes()
	c.Write(b[:len(b)-1])
	if got := c.snapshot().Metrics[indexOf(t, metrics.MailSent)].Total; got != 0 {
		t.Fatalf("MailSent before the newline: got %d, want 0", got)
	}
	c.Write([]byte("\n"))
	c.Write([]byte("\n"))
	if got := c.snapshot().Metrics[indexOf(t, metrics.MailSent)].Total; got != 1 {
		t.Errorf("MailSent after the newline: got %d, want 1", got)
	}
}

func indexOf(t *testing.T, name string) int {
	t.Helper()
	for i, n := range metrics.Names {
		if n == name {
			return i
		}
	}
	t.Fatalf("%s is not in metrics.Names", name)
	return -1
}

// TestCountersConcurrent: handlers flushing at once, and the page reading,
// lose no count (run with -race).
func TestCountersConcurrent(t *testing.T) {
	const writers, flushes = 16, 50
	c := newCounters(time.Now())
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range flushes {
				var r metrics.Recorder
				r.Add(metrics.ResetRequested)
				r.AddWith(metrics.RateLimited, metrics.Scope, "IP")
				if err := r.Flush(c, time.Now(), "RequestLink"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		<-start
		for range flushes {
			c.snapshot()
		}
	}()
	close(start)
	wg.Wait()
	s := c.snapshot()
	for _, name := range []string{metrics.ResetRequested, metrics.RateLimited} {
		m := s.Metrics[indexOf(t, name)]
		if m.Total != writers*flushes || m.ByFlow["RequestLink"] != writers*flushes {
			t.Errorf("%s: got total %d, RequestLink %d, want %d each", name, m.Total, m.ByFlow["RequestLink"], writers*flushes)
		}
	}
	if got := s.Metrics[indexOf(t, metrics.RateLimited)].ByDimension["Scope"]["IP"]; got != writers*flushes {
		t.Errorf("RateLimited Scope IP: got %d, want %d", got, writers*flushes)
	}
}

func metricsServer(t *testing.T) (*Server, *httptest.Server) {
	t.Helper()
	s, err := NewServer(&recorder{}, gateway.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts
}

func TestMetricsJSON(t *testing.T) {
	s, ts := metricsServer(t)
	s.metrics.Write(flushed(t))
	status, h, body := post(t, "GET", ts.URL+MetricsJSONPath, "", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %s %s, want 200 application/json", status, h.Get("Content-Type"), body)
	}
	var got metricsSnapshot
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	if got.Documents != flushedDocuments {
		t.Errorf("documents: got %d, want %d", got.Documents, flushedDocuments)
	}
	if want := flushedCounts(); !reflect.DeepEqual(got.Metrics, want) {
		t.Errorf("metrics:\n got %+v\nwant %+v\nbody %s", got.Metrics, want, body)
	}
	if !got.Since.Equal(s.metrics.since) {
		t.Errorf("since: got %v, want %v", got.Since, s.metrics.since)
	}
}

// hostile is an EMF line no Recorder writes (it keeps dimension values to
// short identifiers), with markup as a metric's name and as dimension
// values.
const hostile = `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"passreset","Dimensions":[["Flow"],["Reason"]],` +
	`"Metrics":[{"Name":"PasswordRejected","Unit":"Count"},{"Name":"<img src=x onerror=alert(2)>","Unit":"Count"}]}]},` +
	`"Flow":"<b>flow</b>","Reason":"<script>alert(1)</script>","PasswordRejected":1,"<img src=x onerror=alert(2)>":1}` + "\n"

func TestMetricsPage(t *testing.T) {
	s, ts := metricsServer(t)
	s.metrics.Write(flushed(t))
	s.metrics.Write([]byte(hostile))
	status, h, body := post(t, "GET", ts.URL+MetricsPath, "", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("got %d %s, want 200 text/html", status, h.Get("Content-Type"))
	}

	for _, name := range metrics.Names {
		if !strings.Contains(body, `<th scope="row">`+name+`</th>`) {
			t.Errorf("no row for %s", name)
		}
	}
	for _, want := range []string{
		`<th scope="row">` + metrics.RateLimited + `</th><td class="n">4</td><td>RequestCode=3, RequestLink=1</td><td>Scope Account=2, IP=2</td>`,
		`<tr class="zero"><th scope="row">` + metrics.MailFailed + `</th><td class="n">0</td>`,
		`<meta http-equiv="refresh" content="2">`,
		`&lt;script&gt;alert(1)&lt;/script&gt;`,
		`&lt;b&gt;flow&lt;/b&gt;`,
		`&lt;img src=x onerror=alert(2)&gt;`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("no %s in the page:\n%s", want, body)
		}
	}
	for _, bad := range []string{"<script", "<b>", "<img"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s unescaped in the page:\n%s", bad, body)
		}
	}

	// The CSP allows the page's style by its hash, and nothing else runs.
	csp := h.Get("Content-Security-Policy")
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
	if style == nil {
		t.Fatalf("no style in the page")
	}
	sum := sha256.Sum256([]byte(style[1]))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, want) {
		t.Errorf("CSP %q: want %s, the hash of the page's style", csp, want)
	}
	if !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q: want default-src 'none' and no unsafe-inline", csp)
	}
}

// TestMetricsRoutesShadowNoAPIRoute: no route key of the API can take a
// dev route's path, whatever the method, and the dev routes take no API
// route's path.
func TestMetricsRoutesShadowNoAPIRoute(t *testing.T) {
	keys := gateway.RouteKeys()
	for _, path := range []string{MetricsPath, MetricsJSONPath} {
		for _, method := range []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"} {
			if key, _, ok := apigwtest.Match(keys, method, path); ok {
				t.Errorf("%s %s: the API's route %s takes it", method, path, key)
			}
		}
	}
	s, ts := metricsServer(t)
	params := strings.NewReplacer("{email}", "user%40example.com", "{token}", strings.Repeat("ab", 32))
	for _, key := range keys {
		if strings.HasPrefix(strings.SplitN(key, " ", 2)[1], "/_dev") {
			t.Errorf("route %s is under /_dev, the dev server's", key)
		}
		_, path, _ := strings.Cut(key, " ")
		for _, method := range []string{"GET", "POST", "PUT"} {
			r := httptest.NewRequest(method, params.Replace(path), nil)
			if s.serveDev(httptest.NewRecorder(), r) {
				t.Errorf("%s %s: answered by the dev server, want the API", method, path)
			}
		}
	}
	// A method the dev routes do not take goes on to the API, which has no
	// such route.
	status, _, body := post(t, "POST", ts.URL+MetricsPath, "{}", nil)
	if status != http.StatusNotFound || body != `{"message":"Not Found"}` {
		t.Errorf("POST %s: got %d %s, want the API's 404", MetricsPath, status, body)
	}
}

// countingFlows counts a request the way the real flows do, through the
// recorder the handler puts in the context.
type countingFlows struct{ recorder }

func (f *countingFlows) RequestCode(ctx context.Context, req reset.CodeRequest) error {
	metrics.FromContext(ctx).Add(metrics.ResetRequested)
	return nil
}

// A request to the dev server's API moves its counters, and the lines
// still reach a writer the caller gave.
func TestServerCountsTheHandlersMetrics(t *testing.T) {
	var echoed bytes.Buffer
	s, err := NewServer(&countingFlows{}, gateway.Options{Metrics: &syncWriter{w: &echoed}}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	if status, _, body := post(t, "POST", ts.URL+"/generate-otp", `{"email":"a@example.com"}`, nil); status != 200 {
		t.Fatalf("POST /generate-otp: %d %s", status, body)
	}
	m := s.metrics.snapshot().Metrics[indexOf(t, metrics.ResetRequested)]
	if m.Total != 1 || m.ByFlow["RequestCode"] != 1 {
		t.Errorf("ResetRequested: got %+v, want 1 for RequestCode", m)
	}
	if _, ok := metrics.Parse(bytes.SplitN(echoed.Bytes(), []byte("\n"), 2)[0]); !ok {
		t.Errorf("opts.Metrics got %q, want the EMF lines too", echoed.String())
	}
}
