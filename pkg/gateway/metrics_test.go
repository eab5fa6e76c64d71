package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/metrics"
)

// Metrics through the handler on the local stack: each request's Embedded
// Metric Format lines, as the handler writes them to Options.Metrics, read
// back with metrics.Parse and keyed "Flow Metric" or "Flow
// Metric/Dimension=Value".

// metricCounts sums the counts of lines by flow, metric and extra dimension.
func metricCounts(t *testing.T, lines []string) map[string]int64 {
	t.Helper()
	got := map[string]int64{}
	for _, line := range lines {
		doc, ok := metrics.Parse([]byte(line))
		if !ok {
			t.Fatalf("the handler wrote a line metrics.Parse refuses: %q", line)
		}
		suffix := ""
		for _, dim := range []string{metrics.Scope, metrics.Channel, metrics.Reason} {
			if v, ok := doc.Dimensions[dim]; ok {
				suffix = "/" + dim + "=" + v
			}
		}
		for name, n := range doc.Counts {
			got[doc.Dimensions[metrics.Flow]+" "+name+suffix] += n
		}
	}
	return got
}

// pwnedStandIn is Have I Been Pwned's range API: it knows one breached
// password, or is down.
type pwnedStandIn struct {
	mu   sync.Mutex
	down bool
}

const metricsBreached = "metrics-test: a breached password"

func (p *pwnedStandIn) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	sum := sha1.Sum([]byte(metricsBreached))
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	if strings.HasSuffix(r.URL.Path, "/"+h[:5]) {
		fmt.Fprintf(w, "%s:42\r\n", h[5:])
	}
	fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("A", 35))
}

func (p *pwnedStandIn) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.mu.Unlock()
}

// TestMetricsPerScenario: a table of requests, each with exactly the
// metrics it writes, by flow; and the metrics written across them all are
// metrics.Names, so no alarm or widget of template.yaml watches a metric
// that no request writes.
func TestMetricsPerScenario(t *testing.T) {
	t.Parallel()
	pwned := &pwnedStandIn{}
	srv := httptest.NewServer(http.HandlerFunc(pwned.serve))
	t.Cleanup(srv.Close)
	// With a sessions table, so a completed reset ends the account's
	// sessions, and a failure to do so is counted.
	env := apptest.New(t, apptest.WithSessions(apptest.Settings{
		"IP_LIMIT": "3", "MAX_ATTEMPTS": "2", "MAX_FAILURES_PER_DAY": "3",
		"PWNED_CHECK": "true", "PWNED_API_URL": srv.URL + "/range/",
	}))
	const newPw = "metrics-test: a fine new password"

	// Every request from an IP of its own, so the per-IP limit refuses
	// only where a scenario means it to.
	ips := 0
	nextIP := func() string { ips++; return fmt.Sprintf("203.0.113.%d", ips%250+1) }
	post := func(path string, body map[string]string) apptest.Response {
		return env.Do(t, apptest.Request{Method: "POST", Path: path, Body: apptest.JSON(body), IP: nextIP()})
	}
	sendCode := func(email string) apptest.Response {
		return post("/auth/otp", map[string]string{"action": "create", "email": email})
	}
	guess := func(email, code, pw string) apptest.Response {
		return post("/auth/otp", map[string]string{"action": "validate", "email": email, "otp": code, "new_password": pw})
	}
	sendLink := func(email string) apptest.Response {
		return post("/auth/request-reset-password", map[string]string{"email": email})
	}
	useLink := func(token, pw string) apptest.Response {
		return post("/auth/reset-password", map[string]string{"token": token, "new_password": pw})
	}
	later := func() { env.Clock.Advance(env.Config.Reset.MinSendInterval + time.Second) }
	codeOf := func(a apptest.Account) string {
		if r := sendCode(a.Email); r.Status != 200 {
			t.Fatalf("code for %s: %d %s", a.ID, r.Status, r.Body)
		}
		return env.LastCode(t, a.Email)
	}
	tokenOf := func(a apptest.Account) string {
		if r := sendLink(a.Email); r.Status != 200 {
			t.Fatalf("link for %s: %d %s", a.ID, r.Status, r.Body)
		}
		return env.LastToken(t, a.Email)
	}

	type step struct {
		name   string
		do     func() apptest.Response
		status int
		want   map[string]int64
	}
	var union = map[string]bool{}
	run := func(s step) {
		t.Helper()
		env.Metrics.Take() // what the arranging requests wrote
		r := s.do()
		if r.Status != s.status {
			t.Errorf("%s: got %d %s, want %d", s.name, r.Status, r.Body, s.status)
		}
		got := metricCounts(t, env.Metrics.Take())
		if !maps.Equal(got, s.want) {
			t.Errorf("%s: wrote %v, want %v", s.name, got, s.want)
		}
		for key := range got {
			name, _, _ := strings.Cut(strings.Fields(key)[1], "/")
			union[name] = true
		}
	}
	one := func(kv ...string) map[string]int64 {
		m := map[string]int64{}
		for _, k := range kv {
			m[k]++
		}
		return m
	}

	known := env.AddAccount(t)
	run(step{"code request, known account", func() apptest.Response { return sendCode(known.Email) }, 200,
		one("RequestCode ResetRequested", "RequestCode MailSent")})
	run(step{"code request, unknown account", func() apptest.Response { return sendCode("nobody-m1@example.test") }, 200,
		one("RequestCode ResetRequested")})
	run(step{"code request again within the interval", func() apptest.Response { return sendCode(known.Email) }, 429,
		one("RequestCode RateLimited/Scope=Interval")})
	run(step{"link request, known account", func() apptest.Response { return sendLink(known.Email) }, 429,
		one("RequestLink RateLimited/Scope=Interval")})
	later()
	run(step{"link request, known account, later", func() apptest.Response { return sendLink(known.Email) }, 200,
		one("RequestLink ResetRequested", "RequestLink MailSent")})
	run(step{"link request, unknown account", func() apptest.Response { return sendLink("nobody-m2@example.test") }, 200,
		one("RequestLink ResetRequested")})
	later()
	run(step{"third send in the hour", func() apptest.Response { return sendLink(known.Email) }, 200,
		one("RequestLink ResetRequested", "RequestLink MailSent")})
	later()
	run(step{"fourth send in the hour", func() apptest.Response { return sendLink(known.Email) }, 429,
		one("RequestLink RateLimited/Scope=Account")})

	const fixedIP = "198.51.100.250"
	for i := range 3 {
		env.Do(t, apptest.Request{Method: "POST", Path: "/generate-otp", IP: fixedIP,
			Body: apptest.JSON(map[string]string{"email": fmt.Sprintf("nobody-ip%d@example.test", i)})})
	}
	run(step{"fourth send from one IP", func() apptest.Response {
		return env.Do(t, apptest.Request{Method: "POST", Path: "/generate-otp", IP: fixedIP,
			Body: apptest.JSON(map[string]string{"email": "nobody-ip3@example.test"})})
	}, 429, one("RequestCode RateLimited/Scope=IP")})

	// Guesses: MAX_ATTEMPTS=2 a code, MAX_FAILURES_PER_DAY=3 an account.
	g := env.AddAccount(t)
	code := codeOf(g)
	run(step{"wrong guess", func() apptest.Response { return guess(g.Email, wrong(code), newPw) }, 400,
		one("ResetWithCode WrongGuess")})
	run(step{"wrong guess, the code's last", func() apptest.Response { return guess(g.Email, wrong(code), newPw) }, 400,
		one("ResetWithCode WrongGuess", "ResetWithCode CodeExhausted")})
	run(step{"guess at the dead code", func() apptest.Response { return guess(g.Email, code, newPw) }, 429,
		one("ResetWithCode RateLimited/Scope=Code")})
	later()
	code = codeOf(g)
	run(step{"wrong guess, the account's last failure: its owner told", func() apptest.Response { return guess(g.Email, wrong(code), newPw) }, 400,
		one("ResetWithCode WrongGuess", "ResetWithCode AccountBudgetExhausted", "ResetWithCode MailSent")})
	run(step{"guess past the spent budget", func() apptest.Response { return guess(g.Email, code, newPw) }, 429,
		one("ResetWithCode RateLimited/Scope=Account")})
	run(step{"guess at an unknown account's decoy", func() apptest.Response { return guess("nobody-m1@example.test", "123456", newPw) }, 400,
		one("ResetWithCode WrongGuess")})

	// Refused passwords, by rule, and completed resets.
	r := env.AddAccount(t)
	code = codeOf(r)
	run(step{"too short", func() apptest.Response { return guess(r.Email, code, "short") }, 400,
		one("ResetWithCode PasswordRejected/Reason=TooShort")})
	run(step{"the account's email", func() apptest.Response { return guess(r.Email, code, r.Email) }, 400,
		one("ResetWithCode PasswordRejected/Reason=Identity")})
	// Each refusal once the code proved right spends an attempt and a
	// failure: an account each.
	// Not on Cognito, which shows no hash to compare with: the rule is the
	// pool's password history there (pkg/cognito, README).
	if apptest.Backend(t) != apptest.BackendCognito {
		r = env.AddAccount(t)
		code = codeOf(r)
		run(step{"the current password", func() apptest.Response { return guess(r.Email, code, r.Password) }, 400,
			one("ResetWithCode PasswordRejected/Reason=SameAsCurrent")})
	}
	r = env.AddAccount(t)
	code = codeOf(r)
	run(step{"breached", func() apptest.Response { return guess(r.Email, code, metricsBreached) }, 400,
		one("ResetWithCode PasswordRejected/Reason=Breached")})
	r = env.AddAccount(t)
	code = codeOf(r)
	run(step{"completed by code", func() apptest.Response {
		return post("/reset-password", map[string]string{"email": r.Email, "otp": code, "newPassword": newPw})
	}, 200, one("ResetWithCode ResetCompleted/Channel=Code", "ResetWithCode MailSent")})

	l := env.AddAccount(t)
	token := tokenOf(l)
	run(step{"common, on a link", func() apptest.Response { return useLink(token, "password1") }, 400,
		one("ResetWithLink PasswordRejected/Reason=Common")})
	pwned.setDown(true)
	run(step{"completed by link, the breach check down", func() apptest.Response { return useLink(token, newPw) }, 200,
		one("ResetWithLink BreachCheckFailed", "ResetWithLink ResetCompleted/Channel=Link", "ResetWithLink MailSent")})
	pwned.setDown(false)

	// The reset page's form, answered with a page: under the same flow.
	p := env.AddAccount(t)
	token = tokenOf(p)
	run(step{"completed by the page's form", func() apptest.Response {
		ev := env.Event(t, apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token, IP: nextIP(),
			Headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"},
			Body:    "new_password=" + strings.ReplaceAll(newPw, " ", "+") + "&confirm_password=" + strings.ReplaceAll(newPw, " ", "+")})
		resp, err := env.Handler.Handle(context.Background(), ev)
		if err != nil {
			t.Fatal(err)
		}
		return apptest.Response{Status: resp.StatusCode, Body: "(a page)"}
	}, 200, one("ResetWithLink ResetCompleted/Channel=Link", "ResetWithLink MailSent")})

	// The sessions table failing after the password changed: answered as
	// done, counted.
	sv := env.AddAccount(t)
	env.AddSessions(t, sv.ID, 1)
	code = codeOf(sv)
	endSessions := sessionCalls(t)[len(sessionCalls(t))-1]
	env.Calls.FailWith(func(op string, _ int) error {
		if op == endSessions {
			return faultError
		}
		return nil
	})
	run(step{"completed by code, ending the sessions fails", func() apptest.Response {
		return guess(sv.Email, code, newPw)
	}, 200, one("ResetWithCode ResetCompleted/Channel=Code", "ResetWithCode SessionRevocationFailed", "ResetWithCode MailSent")})
	env.Calls.FailWith(nil)

	// A mail SES refuses: withdrawn, answered as sent.
	m := env.AddAccount(t)
	env.Calls.FailWith(func(op string, _ int) error {
		if op == "SESv2.SendEmail" {
			return faultError
		}
		return nil
	})
	run(step{"code mail refused by SES", func() apptest.Response { return sendCode(m.Email) }, 200,
		one("RequestCode ResetRequested", "RequestCode MailFailed", "RequestCode SecretWithdrawn")})
	env.Calls.FailWith(nil)

	// Refused before any flow: nothing counted, no line.
	run(step{"bad body", func() apptest.Response {
		return env.Do(t, apptest.Request{Method: "POST", Path: "/auth/otp", Body: `{"action": 7}`, IP: nextIP()})
	}, 400, map[string]int64{}})

	got := slices.Sorted(maps.Keys(union))
	if want := slices.Sorted(slices.Values(metrics.Names)); !slices.Equal(got, want) {
		t.Errorf("metrics written across the scenarios: got %v, want metrics.Names %v", got, want)
	}
}

// timestamps matches the one part of a metrics line that differs between
// two identical requests.
var timestamps = regexp.MustCompile(`"Timestamp":[0-9]+`)

// withoutMailSent is lines as they would be without their MailSent count,
// rewritten by metrics.Flush itself, timestamps zeroed.
func withoutMailSent(t *testing.T, lines []string) string {
	t.Helper()
	var out bytes.Buffer
	for _, line := range lines {
		doc, ok := metrics.Parse([]byte(line))
		if !ok {
			t.Fatalf("unparsable metrics line %q", line)
		}
		rec := &metrics.Recorder{}
		for name, n := range doc.Counts {
			if name == metrics.MailSent {
				continue
			}
			for range n {
				dim := ""
				for _, d := range []string{metrics.Scope, metrics.Channel, metrics.Reason} {
					if _, ok := doc.Dimensions[d]; ok {
						dim = d
					}
				}
				if dim == "" {
					rec.Add(name)
				} else {
					rec.AddWith(name, dim, doc.Dimensions[dim])
				}
			}
		}
		if err := rec.Flush(&out, time.UnixMilli(0), doc.Dimensions[metrics.Flow]); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}

func zeroTimestamps(lines []string) string {
	return timestamps.ReplaceAllString(strings.Join(lines, ""), `"Timestamp":0`)
}

// TestMetricsSameForUnknownAccounts: on every send route, and for a wrong
// guess, the metrics of an unknown, an unverified and a disabled account
// are byte for byte those of a known account (timestamps aside), less the
// MailSent of the mail the known one got, which SES's own Send metric
// counts anyway.
func TestMetricsSameForUnknownAccounts(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	for _, r := range enumRoutes {
		t.Run(r.name, func(t *testing.T) {
			known := env.AddAccount(t)
			others := map[string]string{
				"unknown email":      "nobody-" + known.ID + "@example.test",
				"unverified account": env.AddAccount(t, apptest.Unverified).Email,
				"disabled account":   env.AddAccount(t, apptest.Disabled).Email,
			}
			env.Metrics.Take()
			env.Do(t, r.request(known.Email))
			sent := env.Metrics.Take()
			env.Do(t, r.request(known.Email))
			limited := zeroTimestamps(env.Metrics.Take())
			if !strings.Contains(strings.Join(sent, ""), `"MailSent":1`) {
				t.Fatalf("account: metrics %q, want a MailSent", sent)
			}
			want := withoutMailSent(t, sent)
			for name, email := range others {
				env.Metrics.Take()
				env.Do(t, r.request(email))
				if got := zeroTimestamps(env.Metrics.Take()); got != want {
					t.Errorf("%s: metrics\n%s\nwant the account's less its MailSent\n%s", name, got, want)
				}
				env.Do(t, r.request(email))
				if got := zeroTimestamps(env.Metrics.Take()); got != limited {
					t.Errorf("%s, again at once: metrics\n%s\nwant the account's\n%s", name, got, limited)
				}
			}
		})
	}
	t.Run("wrong guess", func(t *testing.T) {
		known := env.AddAccount(t)
		env.Post(t, "/auth/otp", createCode(known.Email))
		code := env.LastCode(t, known.Email)
		const nobody = "nobody-guess@example.test"
		env.Post(t, "/auth/otp", createCode(nobody))
		env.Metrics.Take()
		env.Post(t, "/auth/otp", validate(known.Email, wrong(code), "a new and long password"))
		want := zeroTimestamps(env.Metrics.Take())
		env.Post(t, "/auth/otp", validate(nobody, wrong(code), "a new and long password"))
		if got := zeroTimestamps(env.Metrics.Take()); got != want || want == "" {
			t.Errorf("decoy: metrics %s, want the account's %s", got, want)
		}
	})
}
