package gateway_test

// Review findings on the limits: "at most N per W" holds in any span of
// length W, not per fixed window (a limit must never double across a
// window edge), and an attacker who spends an account's code-failure
// budget cannot block its owner's recovery by link.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
)

// reviewWindow is the contract's rule as a model: at most max events in
// any span of length span, an event span old no longer counting, and, when
// gap is set, at least gap between two events. Only events let in count.
type reviewWindow struct {
	max  int
	span time.Duration
	gap  time.Duration
	at   []time.Time // the events let in, oldest first
}

// admit says whether an event at now is let in, and when it is not, the
// Retry-After the contract wants: the whole seconds, rounded up, until it
// would be.
func (w *reviewWindow) admit(now time.Time) (bool, int) {
	var in []time.Time
	for _, a := range w.at {
		if a.After(now.Add(-w.span)) {
			in = append(in, a)
		}
	}
	var frees time.Time
	if len(in) >= w.max {
		frees = in[len(in)-w.max].Add(w.span) // when the oldest that keeps the span full leaves it
	}
	if n := len(w.at); w.gap > 0 && n > 0 {
		if g := w.at[n-1].Add(w.gap); g.After(frees) {
			frees = g
		}
	}
	if !frees.After(now) {
		w.at = append(w.at, now)
		return true, 0
	}
	return false, int(math.Ceil(frees.Sub(now).Seconds()))
}

// reviewMostIn is the most of at (oldest first) that fall in one span of
// length span, and the first and last of them.
func reviewMostIn(at []time.Time, span time.Duration) (n int, first, last time.Time) {
	for i := range at {
		j := i
		for j > 0 && at[j-1].After(at[i].Add(-span)) {
			j--
		}
		if i-j+1 > n {
			n, first, last = i-j+1, at[j], at[i]
		}
	}
	return n, first, last
}

// reviewClock sets env's clock to t0+off; the clock only moves forward.
func reviewClock(t *testing.T, env *apptest.Env, t0 time.Time, off time.Duration) {
	t.Helper()
	d := t0.Add(off).Sub(env.Clock.Now())
	if d < 0 {
		t.Fatalf("the clock cannot go back to +%v", off)
	}
	env.Clock.Advance(d)
}

// reviewLimited checks one answer against the model: let in, it must be
// ok; refused, it must be the 429 wanted with Retry-After exactly the
// model's. It returns whether the answer was let in, and false in match
// once the service and the model disagree: from then on their histories
// differ and the model says no more.
func reviewLimited(t *testing.T, what string, r reply, okStatus int, okBody, tooMany string, model *reviewWindow, now time.Time, match *bool) bool {
	t.Helper()
	in := r.Status == okStatus
	switch {
	case in:
		expect(t, r, okStatus, okBody)
	case r.Status == 429:
		expect(t, r, 429, tooMany)
	default:
		t.Fatalf("%s: got %d %s, want %d or 429", what, r.Status, r.Body, okStatus)
	}
	if !*match {
		return in
	}
	ok, wait := model.admit(now)
	switch {
	case ok && !in:
		t.Errorf("%s: got 429 (Retry-After %s), want %d: nothing counted is in the span any more", what, r.Headers["Retry-After"], okStatus)
		*match = false
	case !ok && in:
		t.Errorf("%s: got %d, want 429 with Retry-After %d: the span already holds %d", what, r.Status, wait, model.max)
		*match = false
	case !ok:
		if got := r.Headers["Retry-After"]; got != strconv.Itoa(wait) {
			t.Errorf("%s: Retry-After %q, want %d (when the oldest counted event leaves the span)", what, got, wait)
		}
	}
	return in
}

// TestReviewFailureBudgetIsSliding: no more than MAX_FAILURES_PER_DAY wrong
// guesses at an account's codes are compared in any 24 hours, across the
// edge of what used to be a fixed window: 20 guesses late on the first
// day, then guesses just after 24 h from the first are refused until the
// oldest counted guess is 24 h old.
func TestReviewFailureBudgetIsSliding(t *testing.T) {
	t.Parallel()
	// MAX_ATTEMPTS, the send limits and the IP limit out of the way: only
	// the daily failure budget refuses here. (No more than 20 guesses and
	// 3 code requests fall in any 5 minutes, 6 code requests in any hour;
	// the limits are raised only as far as that needs, with room to spare.)
	env := apptest.New(t, apptest.Settings{
		"MAX_FAILURES_PER_DAY": "20", "MAX_ATTEMPTS": "100",
		"MAX_SENDS_PER_HOUR": "20", "MIN_SEND_INTERVAL": "0s", "IP_LIMIT": "60",
	})
	c := newClient(t, env)
	a := c.account(t)
	t0 := env.Clock.Now()
	model := &reviewWindow{max: 20, span: 24 * time.Hour}
	match := true
	var compared []time.Time
	code, codeAt := "", time.Time{}

	guess := func(off time.Duration, times int) {
		t.Helper()
		reviewClock(t, env, t0, off)
		for i := range times {
			now := env.Clock.Now()
			if code == "" || now.Sub(codeAt) >= 5*time.Minute { // codes live 10 minutes
				code, codeAt = c.sendN(t, a.Email), now
			}
			r := c.post(t, "/auth/otp", js("action", "validate", "email", a.Email, "otp", wrongCode(code), "new_password", newPassword))
			what := fmt.Sprintf("wrong guess %d at +%v (%d compared so far)", i+1, off, len(compared))
			if reviewLimited(t, what, r, 400, codeByActionInvalidOTP, codeByActionTooManyAttempts, model, now, &match) {
				compared = append(compared, now)
			}
		}
	}
	guess(0, 1) // the first guess
	for i := range 19 {
		guess(23*time.Hour+time.Duration(i)*20*time.Second, 1) // 19 more late in the first day, 20 s apart
	}
	guess(23*time.Hour+400*time.Second, 1) // refused: 20 in the span
	guess(24*time.Hour, 5)                 // the first guess is 24 h old: one place frees, not twenty
	guess(24*time.Hour+10*time.Minute, 2)  // still refused
	guess(26*time.Hour, 2)                 // still refused
	guess(47*time.Hour-time.Second, 1)     // a second before the oldest of the 19 is 24 h old
	guess(47*time.Hour, 2)                 // it is: one place
	guess(47*time.Hour+20*time.Second, 2)  // the next one is: one place
	guess(47*time.Hour+40*time.Second, 2)  // and the next
	guess(48*time.Hour+time.Minute, 3)     // all of the first day's and the one at +24 h have left

	n, first, last := reviewMostIn(compared, 24*time.Hour)
	t.Logf("%d wrong guesses compared in all; at most %d in one 24 h span (from +%v to +%v)", len(compared), n, first.Sub(t0), last.Sub(t0))
	if n > 20 {
		t.Errorf("%d wrong guesses compared within %v (from +%v to +%v), want at most 20 in any 24 h", n, last.Sub(first), first.Sub(t0), last.Sub(t0))
	}
	wantPassword(t, env, a, a.Password)
}

// TestReviewSendLimitIsSliding: at most MAX_SENDS_PER_HOUR mails to one
// account in any hour, however the sends straddle an hour's edge.
func TestReviewSendLimitIsSliding(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"MAX_SENDS_PER_HOUR": "3", "MIN_SEND_INTERVAL": "60s"})
	c := newClient(t, env)
	a := c.account(t)
	t0 := env.Clock.Now()
	model := &reviewWindow{max: 3, span: time.Hour, gap: 60 * time.Second}
	match := true
	var sent []time.Time
	// Every send at least MIN_SEND_INTERVAL after the one before, so only
	// the hourly limit refuses.
	for _, off := range []time.Duration{0, 58 * time.Minute, 59 * time.Minute, 60 * time.Minute, 61 * time.Minute, 62 * time.Minute,
		90 * time.Minute, 118*time.Minute - time.Second, 118 * time.Minute, 119 * time.Minute, 120 * time.Minute, 121 * time.Minute} {
		reviewClock(t, env, t0, off)
		now := env.Clock.Now()
		r := c.post(t, "/auth/otp", js("action", "create", "email", a.Email))
		what := fmt.Sprintf("send at +%v (%d sent so far)", off, len(sent))
		if reviewLimited(t, what, r, 200, codeByActionSent, codeByActionTooManyOTP, model, now, &match) {
			sent = append(sent, now)
		}
	}
	n, first, last := reviewMostIn(sent, time.Hour)
	t.Logf("%d sends let in; at most %d in one hour (from +%v to +%v)", len(sent), n, first.Sub(t0), last.Sub(t0))
	if n > 3 {
		t.Errorf("%d mails within %v (from +%v to +%v), want at most 3 in any hour", n, last.Sub(first), first.Sub(t0), last.Sub(t0))
	}
	wantMails(t, env, a.Email, len(sent))
}

// TestReviewIPLimitIsSliding: at most IP_LIMIT requests of each purpose
// (sends, verifications) from one IP in any IP_WINDOW.
func TestReviewIPLimitIsSliding(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "3", "IP_WINDOW": "5m"})
	t0 := env.Clock.Now()
	// Each purpose from an IP of its own, each request for another unknown
	// email, so that only the per-IP limit refuses.
	purposes := []struct {
		name          string
		c             *client
		send          func(t *testing.T, c *client) reply
		okStatus      int
		okBody, limit string
		model         *reviewWindow
		match         bool
		in            []time.Time
	}{
		{name: "sends", c: newClient(t, env), send: func(t *testing.T, c *client) reply {
			return c.post(t, "/generate-otp", js("email", unknownEmail()))
		}, okStatus: 200, okBody: minimalSent, limit: minimalTooMany},
		{name: "verifications", c: newClient(t, env), send: func(t *testing.T, c *client) reply {
			return c.post(t, "/reset-password", js("email", unknownEmail(), "otp", "123456", "newPassword", newPassword))
		}, okStatus: 401, okBody: minimalInvalidOTP, limit: minimalTooMany},
	}
	for i := range purposes {
		purposes[i].model, purposes[i].match = &reviewWindow{max: 3, span: 5 * time.Minute}, true
	}
	for _, off := range []time.Duration{0, 4 * time.Minute, 4*time.Minute + 30*time.Second, 5 * time.Minute, 5*time.Minute + 10*time.Second,
		6 * time.Minute, 9 * time.Minute, 9*time.Minute + 10*time.Second, 9*time.Minute + 30*time.Second, 9*time.Minute + 40*time.Second} {
		reviewClock(t, env, t0, off)
		now := env.Clock.Now()
		for i := range purposes {
			p := &purposes[i]
			r := p.send(t, p.c)
			what := fmt.Sprintf("%s: request at +%v (%d let in so far)", p.name, off, len(p.in))
			if reviewLimited(t, what, r, p.okStatus, p.okBody, p.limit, p.model, now, &p.match) {
				p.in = append(p.in, now)
			}
		}
	}
	for _, p := range purposes {
		n, first, last := reviewMostIn(p.in, 5*time.Minute)
		t.Logf("%s: %d let in; at most %d in one 5-minute span", p.name, len(p.in), n)
		if n > 3 {
			t.Errorf("%s: %d requests from one IP let in within %v (from +%v to +%v), want at most 3 in any 5 minutes", p.name, n, last.Sub(first), first.Sub(t0), last.Sub(t0))
		}
	}
}

// The owner's notice when the code-failure budget is spent.
const (
	reviewNoticeSubject = "Someone tried to reset your password"
	reviewNoticeText    = "Nothing has changed"
)

// reviewNotices returns the notices mailed to addr, checking each one's
// text.
func reviewNotices(t *testing.T, env *apptest.Env, addr string) int {
	t.Helper()
	n := 0
	for _, m := range env.MailsTo(t, addr) {
		if m.Subject != reviewNoticeSubject {
			continue
		}
		n++
		if !strings.Contains(m.Text, reviewNoticeText) {
			t.Errorf("notice to %s: text %q does not say %q", addr, m.Text, reviewNoticeText)
		}
	}
	return n
}

// TestReviewRecoveryLaneAndOwnerNotice: an attacker who spends an account's
// daily code-failure budget blocks its codes, not its recovery: a link can
// still be asked for and used. The owner gets one notice per budget window,
// and nothing of it shows in the answers: every answer on the way is the
// same for the account and for an unknown email, which gets no mail.
func TestReviewRecoveryLaneAndOwnerNotice(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"MAX_FAILURES_PER_DAY": "3"})
	known, other := newClient(t, env), newClient(t, env) // an IP each
	a := known.account(t)
	nobody := unknownEmail()

	// both sends the same request for the account and for the unknown
	// email, at the same time, and holds the two answers to each other.
	both := func(what string, send func(c *client, email string) reply) reply {
		t.Helper()
		ra, ru := send(known, a.Email), send(other, nobody)
		reviewSame(t, what+": the account vs an unknown email", ra, ru)
		return ra
	}
	create := func(c *client, email string) reply {
		return c.post(t, "/auth/otp", js("action", "create", "email", email))
	}
	guess := func(otp string) func(c *client, email string) reply {
		return func(c *client, email string) reply {
			return c.post(t, "/auth/otp", js("action", "validate", "email", email, "otp", otp, "new_password", newPassword))
		}
	}
	spend := func(window string) string {
		t.Helper()
		must(t, both(window+": request a code", create), 200, codeByActionSent)
		code := known.code(t, a.Email)
		for i := range 3 {
			must(t, both(fmt.Sprintf("%s: wrong guess %d", window, i+1), guess(wrongCode(code))), 400, codeByActionInvalidOTP)
		}
		expect(t, both(window+": wrong guess 4, the budget spent", guess(wrongCode(code))), 429, codeByActionTooManyAttempts)
		return code
	}

	code := spend("first window")
	expect(t, both("first window: the right code after the budget", guess(code)), 429, codeByActionTooManyAttempts)
	wantPassword(t, env, a, a.Password)
	if n := reviewNotices(t, env, a.Email); n != 1 {
		t.Errorf("first window, budget spent: %d notices %q to the owner, want 1", n, reviewNoticeSubject)
	}
	for i := range 2 {
		expect(t, both(fmt.Sprintf("first window: more wrong guess %d", i+1), guess(wrongCode(code))), 429, codeByActionTooManyAttempts)
	}
	if n := reviewNotices(t, env, a.Email); n != 1 {
		t.Errorf("first window, more wrong guesses: %d notices, want still 1", n)
	}

	// The recovery lane: a link, within the send limits.
	env.Clock.Advance(61 * time.Second) // past MIN_SEND_INTERVAL
	expect(t, both("first window: request a link", func(c *client, email string) reply {
		return c.post(t, "/auth/request-reset-password", js("email", email))
	}), 200, linkSent)
	token := known.token(t, a.Email)
	expect(t, known.post(t, "/auth/reset-password", js("token", token, "new_password", newPassword)), 200, linkDone)
	wantPassword(t, env, a, newPassword)

	// The next window: spending the budget again sends one more notice.
	env.Clock.Advance(24*time.Hour + time.Minute)
	spend("second window")
	if n := reviewNotices(t, env, a.Email); n != 2 {
		t.Errorf("second window, budget spent again: %d notices in all, want 2", n)
	}
	wantMails(t, env, nobody, 0)
}
