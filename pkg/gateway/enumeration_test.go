package gateway_test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
)

// Enumeration: with the default settings a send request for an email with
// an account and for one without gets the same bytes, the same number of
// DynamoDB calls, and (where the known one mails and the unknown one does
// not) a wait as long as a mail takes, so that neither the answer, nor the
// table's traffic, nor the time tells which emails have accounts.

// enumRoute is a send route and how it names an account by email.
type enumRoute struct {
	name, method, path, field string
	extra                     map[string]string
}

var enumRoutes = []enumRoute{
	{"N /auth/otp create", "POST", "/auth/otp", "email", map[string]string{"action": "create"}},
	{"0 /generate-otp", "POST", "/generate-otp", "email", nil},
	{"L /auth/request-reset-password", "POST", "/auth/request-reset-password", "email", nil},
	{"E POST /auth/forgot-password", "POST", "/auth/forgot-password", "userEmail", nil},
}

// callsBesidesMail is what env.Calls counted, per operation, on every
// back-end (DynamoDB, Cognito, the hook), without the mail itself, which
// goes to an account only: the traffic an unknown account must match.
func callsBesidesMail(env *apptest.Env) map[string]int {
	calls := map[string]int{}
	for _, op := range env.Calls.Order() {
		if op != "SESv2.SendEmail" {
			calls[op]++
		}
	}
	return calls
}

func (r enumRoute) request(email string) apptest.Request {
	m := map[string]string{r.field: email}
	for k, v := range r.extra {
		m[k] = v
	}
	return apptest.Request{Method: r.method, Path: r.path, Body: apptest.JSON(m)}
}

// TestEnumerationSameAnswer: the same status, headers and body, byte for
// byte, for an account, an unknown email, and accounts that are not
// verified or disabled, and the same DynamoDB calls; SES is called for the
// account only.
func TestEnumerationSameAnswer(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil) // the defaults: REVEAL_UNKNOWN_ACCOUNTS=false
	for _, r := range enumRoutes {
		t.Run(r.name, func(t *testing.T) {
			known := env.AddAccount(t)
			subjects := []struct {
				name   string
				email  string
				mailed int
			}{
				{"account", known.Email, 1},
				{"unknown email", "nobody-" + known.ID + "@example.test", 0},
				{"unverified account", env.AddAccount(t, apptest.Unverified).Email, 0},
				{"disabled account", env.AddAccount(t, apptest.Disabled).Email, 0},
			}
			var first apptest.Response
			var firstCalls map[string]int
			for i, s := range subjects {
				env.Calls.Reset()
				got := env.Do(t, r.request(s.email))
				// Every call but the mail, whatever the back-end: DynamoDB's,
				// the hook's, Cognito's.
				calls, ses := callsBesidesMail(env), env.Calls.Count("SESv2.SendEmail")
				t.Logf("%s: %d %s; calls %v, %d SES", s.name, got.Status, got.Body, calls, ses)
				if ses != s.mailed {
					t.Errorf("%s: got %d SES calls, want %d", s.name, ses, s.mailed)
				}
				if i == 0 {
					first, firstCalls = got, calls
					if got.Status >= 300 {
						t.Fatalf("account: got %d %s, want success", got.Status, got.Body)
					}
					continue
				}
				if got.Status != first.Status || got.Body != first.Body {
					t.Errorf("%s: got %d %s, want the account's %d %s", s.name, got.Status, got.Body, first.Status, first.Body)
				}
				if fmt.Sprint(got.Headers) != fmt.Sprint(first.Headers) {
					t.Errorf("%s: headers %v, want the account's %v", s.name, got.Headers, first.Headers)
				}
				if fmt.Sprint(calls) != fmt.Sprint(firstCalls) {
					t.Errorf("%s: calls %v, want the account's %v", s.name, calls, firstCalls)
				}
			}
		})
	}
}

// TestEnumerationTiming measures the handler's time for an account and for
// an unknown email, alternating, over many requests on the local stack, and
// fails when the two distributions differ beyond noise: when both a
// Kolmogorov-Smirnov and a Mann-Whitney U test reject "same distribution"
// at α = 0.001. The figures are logged.
func TestEnumerationTiming(t *testing.T) {
	if testing.Short() {
		t.Skip("measures timing over many requests; skipped with -short")
	}
	// The defaults, except the limits that would refuse the many requests
	// of one account and one address; no answer here may be a 429.
	env := apptest.New(t, apptest.Settings{
		"IP_LIMIT":           "1000000",
		"MIN_SEND_INTERVAL":  "0s",
		"MAX_SENDS_PER_HOUR": "1000",
	})
	a := env.AddAccount(t)
	unknown := "nobody-" + a.ID + "@example.test"
	const pairs = 240 // per kind; the routes take turns
	budget := time.Now().Add(40 * time.Second)

	handle := func(ev events.APIGatewayV2HTTPRequest) (time.Duration, int) {
		start := time.Now()
		resp, err := env.Handler.Handle(context.Background(), ev)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("handler returned an error: %v", err)
		}
		return took, resp.StatusCode
	}
	// Warm up: the service learns how long its mails take from the first
	// ones it sends; until then the unknown path waits a default.
	for i := range 8 {
		r := enumRoutes[i%len(enumRoutes)]
		handle(env.Event(t, r.request(a.Email)))
	}

	var knownT, unknownT []float64 // milliseconds
	perRoute := map[string][2][]float64{}
	for i := range pairs {
		if time.Now().After(budget) {
			t.Logf("stopped after %d pairs: the 40 s budget is spent", i)
			break
		}
		r := enumRoutes[i%len(enumRoutes)]
		kev, uev := env.Event(t, r.request(a.Email)), env.Event(t, r.request(unknown))
		var kd, ud time.Duration
		var ks, us int
		// The order alternates too, so neither kind always runs first.
		if i%2 == 0 {
			kd, ks = handle(kev)
			ud, us = handle(uev)
		} else {
			ud, us = handle(uev)
			kd, ks = handle(kev)
		}
		if ks != us || ks >= 300 {
			t.Fatalf("%s: account %d, unknown %d; want the same success", r.name, ks, us)
		}
		k, u := enumMS(kd), enumMS(ud)
		knownT, unknownT = append(knownT, k), append(unknownT, u)
		pr := perRoute[r.name]
		pr[0], pr[1] = append(pr[0], k), append(pr[1], u)
		perRoute[r.name] = pr
	}
	if len(knownT) < 40 {
		t.Skipf("only %d pairs within the budget: too few to compare", len(knownT))
	}

	for _, r := range enumRoutes {
		pr := perRoute[r.name]
		t.Logf("%-32s account median %6.2f ms, unknown median %6.2f ms (n=%d each)", r.name, enumQuantile(pr[0], .5), enumQuantile(pr[1], .5), len(pr[0]))
	}
	d, dCrit := enumKS(knownT, unknownT), 1.949*math.Sqrt(float64(len(knownT)+len(unknownT))/float64(len(knownT)*len(unknownT)))
	z := enumMannWhitneyZ(knownT, unknownT)
	t.Logf("account: n=%d median %.2f ms, mean %.2f, p10 %.2f, p90 %.2f", len(knownT), enumQuantile(knownT, .5), enumMean(knownT), enumQuantile(knownT, .1), enumQuantile(knownT, .9))
	t.Logf("unknown: n=%d median %.2f ms, mean %.2f, p10 %.2f, p90 %.2f", len(unknownT), enumQuantile(unknownT, .5), enumMean(unknownT), enumQuantile(unknownT, .1), enumQuantile(unknownT, .9))
	t.Logf("ratio of medians (unknown/account) %.3f; Kolmogorov-Smirnov D = %.3f (critical %.3f at α=0.001); Mann-Whitney z = %.2f (critical ±3.29)",
		enumQuantile(unknownT, .5)/enumQuantile(knownT, .5), d, dCrit, z)
	if d > dCrit && math.Abs(z) > 3.29 {
		t.Errorf("the time of an answer tells an account from an unknown email: KS D %.3f > %.3f and Mann-Whitney |z| %.2f > 3.29 (medians %.2f vs %.2f ms)",
			d, dCrit, math.Abs(z), enumQuantile(knownT, .5), enumQuantile(unknownT, .5))
	}
}

func enumMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func enumMean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// enumQuantile is the q-quantile of xs by the nearest rank.
func enumQuantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// enumKS is the two-sample Kolmogorov-Smirnov D: the largest gap
// between the two empirical distribution functions.
func enumKS(a, b []float64) float64 {
	a, b = slices.Clone(a), slices.Clone(b)
	sort.Float64s(a)
	sort.Float64s(b)
	i, j, d := 0, 0, 0.0
	for i < len(a) && j < len(b) {
		x := min(a[i], b[j])
		for i < len(a) && a[i] <= x {
			i++
		}
		for j < len(b) && b[j] <= x {
			j++
		}
		d = max(d, math.Abs(float64(i)/float64(len(a))-float64(j)/float64(len(b))))
	}
	return d
}

// enumMannWhitneyZ is the Mann-Whitney U statistic of a against b, normalised
// (ties share their mean rank).
func enumMannWhitneyZ(a, b []float64) float64 {
	type v struct {
		x     float64
		fromA bool
	}
	all := make([]v, 0, len(a)+len(b))
	for _, x := range a {
		all = append(all, v{x, true})
	}
	for _, x := range b {
		all = append(all, v{x, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].x < all[j].x })
	rankA := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].x == all[i].x {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1..j
		for k := i; k < j; k++ {
			if all[k].fromA {
				rankA += rank
			}
		}
		i = j
	}
	n1, n2 := float64(len(a)), float64(len(b))
	u := rankA - n1*(n1+1)/2
	return (u - n1*n2/2) / math.Sqrt(n1*n2*(n1+n2+1)/12)
}
