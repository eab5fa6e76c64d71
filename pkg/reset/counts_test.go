package reset

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/passreset/passreset/pkg/metrics"
	"github.com/passreset/passreset/pkg/password"
)

// What each flow outcome counts (counts.go), on the fakes: a row arranges
// the harness without counting, then makes one request with a
// metrics.Recorder in its context, and wants exactly the counts that
// request's Flush writes, read back with metrics.Parse.

// counted is what one Flush wrote: "Metric" for a plain count,
// "Metric/Dimension=Value" for one with an extra dimension.
type counted map[string]int64

// countsOf flushes rec and reads its lines back.
func countsOf(t *testing.T, rec *metrics.Recorder) counted {
	t.Helper()
	var buf bytes.Buffer
	if err := rec.Flush(&buf, t0, "Test"); err != nil {
		t.Fatal(err)
	}
	got := counted{}
	for _, line := range bytes.SplitAfter(buf.Bytes(), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		doc, ok := metrics.Parse(line)
		if !ok {
			t.Fatalf("Flush wrote a line Parse refuses: %q", line)
		}
		suffix := ""
		for _, dim := range []string{metrics.Scope, metrics.Channel, metrics.Reason} {
			if v, ok := doc.Dimensions[dim]; ok {
				suffix = "/" + dim + "=" + v
			}
		}
		for name, n := range doc.Counts {
			got[name+suffix] += n
		}
	}
	return got
}

// countCase is one outcome of one flow and what it counts.
type countCase struct {
	name     string
	settings func(*Settings)
	// act arranges what it needs on t.Context(), which counts nothing,
	// then makes the request on ctx and returns its outcome.
	act  func(t *testing.T, h *harness, ctx context.Context) error
	want counted
}

func (h *harness) requestCodeOn(ctx context.Context, l Lookup) error {
	return h.svc.RequestCode(ctx, CodeRequest{Account: l, IP: clientIP})
}

func (h *harness) requestLinkOn(ctx context.Context, email string) error {
	return h.svc.RequestLink(ctx, LinkRequest{Email: mustEmail(email), IP: clientIP})
}

func (h *harness) guessOn(ctx context.Context, l Lookup, code Code, pw string) error {
	return h.svc.ResetWithCode(ctx, CodeReset{Account: l, Code: code, NewPassword: pw, IP: clientIP})
}

func (h *harness) resetLinkOn(ctx context.Context, token Token, pw string) error {
	return h.svc.ResetWithLink(ctx, LinkReset{Token: token, NewPassword: pw, IP: clientIP})
}

// decoyCode asks for a code for a name with no account and returns one no
// mail carried: any code is a wrong guess at a decoy.
func (h *harness) decoyCode(t *testing.T, l Lookup) Code {
	t.Helper()
	if err := h.requestCodeOn(t.Context(), l); err != nil {
		t.Fatal(err)
	}
	return "123456"
}

var countCases = []countCase{
	// The send flows: "sent", whoever the account is.
	{
		name: "code: known account, mailed",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.requestCodeOn(ctx, byAlice)
		},
		want: counted{metrics.ResetRequested: 1, metrics.MailSent: 1},
	},
	{
		name: "code: unknown account, counted like a known one but for the mail",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.requestCodeOn(ctx, byNobody)
		},
		want: counted{metrics.ResetRequested: 1},
	},
	{
		name: "code: inactive account",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.requestCodeOn(ctx, byBob)
		},
		want: counted{metrics.ResetRequested: 1},
	},
	{
		name:     "code: revealed unknown account is no request answered sent",
		settings: reveal,
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.requestCodeOn(ctx, byNobody)
		},
		want: counted{},
	},
	{
		name: "link: known account, mailed",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.requestLinkOn(ctx, alice.Email)
		},
		want: counted{metrics.ResetRequested: 1, metrics.MailSent: 1},
	},
	{
		name: "link: unknown account",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.requestLinkOn(ctx, "nobody@example.test")
		},
		want: counted{metrics.ResetRequested: 1},
	},
	{
		name: "code: mail fails, code withdrawn, answered as sent",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.mail.failing("code", errMailDown)
			return h.requestCodeOn(ctx, byAlice)
		},
		want: counted{metrics.ResetRequested: 1, metrics.MailFailed: 1, metrics.SecretWithdrawn: 1},
	},
	{
		name: "link: mail fails, link withdrawn, answered as sent",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.mail.failing("link", errMailDown)
			return h.requestLinkOn(ctx, alice.Email)
		},
		want: counted{metrics.ResetRequested: 1, metrics.MailFailed: 1, metrics.SecretWithdrawn: 1},
	},
	{
		name: "code: mail and withdrawal both fail: nothing withdrawn",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.mail.failing("code", errMailDown)
			h.store.fail["WithdrawCode"] = errors.New("dynamodb down")
			return h.requestCodeOn(ctx, byAlice)
		},
		want: counted{metrics.ResetRequested: 1, metrics.MailFailed: 1},
	},
	{
		name:     "code: mail fails, revealed: a 500, not a request answered sent",
		settings: reveal,
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.mail.failing("code", errMailDown)
			return h.requestCodeOn(ctx, byAlice)
		},
		want: counted{metrics.MailFailed: 1, metrics.SecretWithdrawn: 1},
	},

	// The limits, each by its scope.
	{
		name:     "limit: IP, on a send",
		settings: func(s *Settings) { s.IPLimit = 1 },
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.codeFor(t, byAlice)
			return h.requestCodeOn(ctx, byNobody)
		},
		want: counted{metrics.RateLimited + "/Scope=IP": 1},
	},
	{
		name:     "limit: IP, on a guess",
		settings: func(s *Settings) { s.IPLimit = 1 },
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.codeFor(t, byAlice) // sends and guesses are counted apart
			_ = h.guess(t, byAlice, wrong(code))
			return h.guessOn(ctx, byAlice, code, newPassword)
		},
		want: counted{metrics.RateLimited + "/Scope=IP": 1},
	},
	{
		name: "limit: interval, known account",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.codeFor(t, byAlice)
			return h.requestCodeOn(ctx, byAlice)
		},
		want: counted{metrics.RateLimited + "/Scope=Interval": 1},
	},
	{
		name: "limit: interval, unknown account, the same",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.decoyCode(t, byNobody)
			return h.requestCodeOn(ctx, byNobody)
		},
		want: counted{metrics.RateLimited + "/Scope=Interval": 1},
	},
	{
		name: "limit: the name's sends in an hour",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			for range testSettings().MaxSendsPerHour {
				h.linkFor(t, alice.Email)
				h.later()
			}
			return h.requestLinkOn(ctx, alice.Email)
		},
		want: counted{metrics.RateLimited + "/Scope=Account": 1},
	},

	// Guesses.
	{
		name: "guess: wrong code",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.guessOn(ctx, byAlice, wrong(h.codeFor(t, byAlice)), newPassword)
		},
		want: counted{metrics.WrongGuess: 1},
	},
	{
		name: "guess: at a decoy, the same",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.guessOn(ctx, byNobody, h.decoyCode(t, byNobody), newPassword)
		},
		want: counted{metrics.WrongGuess: 1},
	},
	{
		name: "guess: right code from another device",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.requestCode(t, CodeRequest{Account: byAlice, Device: "phone", BindDevice: true})
			return h.svc.ResetWithCode(ctx, CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP, Device: "laptop"})
		},
		want: counted{metrics.WrongGuess: 1},
	},
	{
		name: "guess: the code's last attempt",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.codeFor(t, byAlice)
			for range testSettings().MaxAttempts - 1 {
				_ = h.guess(t, byAlice, wrong(code))
			}
			return h.guessOn(ctx, byAlice, wrong(code), newPassword)
		},
		want: counted{metrics.WrongGuess: 1, metrics.CodeExhausted: 1},
	},
	{
		name: "guess: at a dead code",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.codeFor(t, byAlice)
			for range testSettings().MaxAttempts {
				_ = h.guess(t, byAlice, wrong(code))
			}
			return h.guessOn(ctx, byAlice, code, newPassword)
		},
		want: counted{metrics.RateLimited + "/Scope=Code": 1},
	},
	{
		name:     "guess: the account's last failure; its owner told",
		settings: func(s *Settings) { s.MaxFailuresPerDay = 2 },
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.codeFor(t, byAlice)
			_ = h.guess(t, byAlice, wrong(code))
			return h.guessOn(ctx, byAlice, wrong(code), newPassword)
		},
		want: counted{metrics.WrongGuess: 1, metrics.AccountBudgetExhausted: 1, metrics.MailSent: 1},
	},
	{
		name:     "guess: a decoy's last failure, the same but for the notice",
		settings: func(s *Settings) { s.MaxFailuresPerDay = 2 },
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.decoyCode(t, byNobody)
			_ = h.guess(t, byNobody, code)
			return h.guessOn(ctx, byNobody, code, newPassword)
		},
		want: counted{metrics.WrongGuess: 1, metrics.AccountBudgetExhausted: 1},
	},
	{
		name:     "guess: past the name's spent failure budget",
		settings: func(s *Settings) { s.MaxFailuresPerDay = 2 },
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			code := h.codeFor(t, byAlice)
			_ = h.guess(t, byAlice, wrong(code))
			_ = h.guess(t, byAlice, wrong(code))
			return h.guessOn(ctx, byAlice, code, newPassword)
		},
		want: counted{metrics.RateLimited + "/Scope=Account": 1},
	},

	// Completed resets.
	{
		name: "completed: by code, the notice mailed",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.guessOn(ctx, byAlice, h.codeFor(t, byAlice), newPassword)
		},
		want: counted{metrics.ResetCompleted + "/Channel=Code": 1, metrics.MailSent: 1},
	},
	{
		name: "completed: by link",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.resetLinkOn(ctx, h.linkFor(t, alice.Email), newPassword)
		},
		want: counted{metrics.ResetCompleted + "/Channel=Link": 1, metrics.MailSent: 1},
	},
	{
		name: "completed: the notice's mail fails",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			token := h.linkFor(t, alice.Email)
			h.mail.failing("changed", errMailDown)
			return h.resetLinkOn(ctx, token, newPassword)
		},
		want: counted{metrics.ResetCompleted + "/Channel=Link": 1, metrics.MailFailed: 1},
	},
	{
		name: "completed: the breach check cannot answer and fails open",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.breaches.err = errors.New("pwned: 503")
			return h.guessOn(ctx, byAlice, h.codeFor(t, byAlice), newPassword)
		},
		want: counted{metrics.BreachCheckFailed: 1, metrics.ResetCompleted + "/Channel=Code": 1, metrics.MailSent: 1},
	},
	{
		name: "completed by code: ending the sessions fails, the reset stands",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.sessions.failing(errSessionsDown)
			return h.guessOn(ctx, byAlice, h.codeFor(t, byAlice), newPassword)
		},
		want: counted{metrics.SessionRevocationFailed: 1, metrics.ResetCompleted + "/Channel=Code": 1, metrics.MailSent: 1},
	},
	{
		name: "completed by link: ending the sessions fails, the reset stands",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			h.sessions.failing(errSessionsDown)
			return h.resetLinkOn(ctx, h.linkFor(t, alice.Email), newPassword)
		},
		want: counted{metrics.SessionRevocationFailed: 1, metrics.ResetCompleted + "/Channel=Link": 1, metrics.MailSent: 1},
	},
	{
		name: "check link: reads, counts nothing",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.svc.CheckLink(ctx, h.linkFor(t, alice.Email))
		},
		want: counted{},
	},

	// Refused passwords, by rule.
	{
		name: "rejected: too short, before the guess",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.guessOn(ctx, byAlice, h.codeFor(t, byAlice), "short")
		},
		want: counted{metrics.PasswordRejected + "/Reason=TooShort": 1},
	},
	{
		name: "rejected: common, on a link",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.resetLinkOn(ctx, h.linkFor(t, alice.Email), "password1")
		},
		want: counted{metrics.PasswordRejected + "/Reason=Common": 1},
	},
	{
		name: "rejected: the account's user name, once the code proved right",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.guessOn(ctx, byAlice, h.codeFor(t, byAlice), alice.Username)
		},
		want: counted{metrics.PasswordRejected + "/Reason=Identity": 1},
	},
	{
		name: "rejected: breached",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			return h.resetLinkOn(ctx, h.linkFor(t, alice.Email), breachedPassword)
		},
		want: counted{metrics.PasswordRejected + "/Reason=Breached": 1},
	},
	{
		name: "rejected: the current password",
		act: func(t *testing.T, h *harness, ctx context.Context) error {
			current, err := bcrypt.GenerateFromPassword([]byte(newPassword), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			h.store.editAccount(alice.ID, func(a *Account) { a.PasswordHash = string(current) })
			return h.guessOn(ctx, byAlice, h.codeFor(t, byAlice), newPassword)
		},
		want: counted{metrics.PasswordRejected + "/Reason=SameAsCurrent": 1},
	},
}

func TestCounts(t *testing.T) {
	for _, c := range countCases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.settings)
			rec := &metrics.Recorder{}
			err := c.act(t, h, metrics.NewContext(t.Context(), rec))
			got := countsOf(t, rec)
			want := maps.Clone(c.want)
			maps.DeleteFunc(want, func(_ string, n int64) bool { return n == 0 })
			if !maps.Equal(got, want) {
				t.Errorf("counted %v, want %v (outcome: %v)", got, want, err)
			}
		})
	}
}

// TestCountsCoverEveryMetric: every metric in metrics.Names is counted by
// some row above, so no alarm watches a metric no flow writes.
func TestCountsCoverEveryMetric(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range countCases {
		for key, n := range c.want {
			if n > 0 {
				name, _, _ := bytes.Cut([]byte(key), []byte("/"))
				seen[string(name)] = true
			}
		}
	}
	for _, name := range metrics.Names {
		if !seen[name] {
			t.Errorf("%s: no row of TestCounts counts it", name)
		}
	}
	if extra := slices.DeleteFunc(slices.Collect(maps.Keys(seen)), func(n string) bool { return slices.Contains(metrics.Names, n) }); len(extra) > 0 {
		t.Errorf("rows count %v, which are not in metrics.Names", extra)
	}
}

// TestCountsNeverChangeAnAnswer: the same request gets the same outcome
// with a Recorder in its context and without one.
func TestCountsNeverChangeAnAnswer(t *testing.T) {
	for _, c := range countCases {
		t.Run(c.name, func(t *testing.T) {
			with := c.act(t, newHarness(t, c.settings), metrics.NewContext(t.Context(), &metrics.Recorder{}))
			without := c.act(t, newHarness(t, c.settings), t.Context())
			if !sameOutcome(with, without) {
				t.Errorf("with a Recorder: %v; without: %v", with, without)
			}
		})
	}
}

func sameOutcome(a, b error) bool {
	if a == nil || b == nil {
		return a == b
	}
	var ra, rb *password.Rejection
	if errors.As(a, &ra) {
		return errors.As(b, &rb) && *ra == *rb
	}
	return a.Error() == b.Error() && RetryAfter(a) == RetryAfter(b)
}
