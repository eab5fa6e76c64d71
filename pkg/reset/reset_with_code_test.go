package reset

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/passreset/passreset/pkg/password"
)

// resetCase is a row of the reset flows' tables.
type resetCase[R any] struct {
	name     string
	settings func(*Settings)
	// arrange prepares the harness and returns the request the row makes.
	arrange func(t *testing.T, h *harness) R
	// want is the outcome. nil means alice's password is set and she is
	// told; anything else that no account changed and nobody is told.
	want  error
	calls []string // the store calls of the request itself; nil: not checked
	check func(t *testing.T, h *harness, err error)
}

// checkPasswordSet fails unless, with want nil, alice alone has the new
// password (and a bumped session_version), her sessions were ended once
// and one "changed" mail went to her stored address, or, with want set, no
// account changed, no sessions were ended and no "changed" mail was tried.
// The caller takes the sessions ended before the request.
func checkPasswordSet(t *testing.T, h *harness, before map[string]Account, want error, plain string, mails, refused int) {
	t.Helper()
	after := h.store.snapshot().Accounts
	var changed []sentMail
	changed = append(changed, ofKind(h.mail.all()[mails:], "changed")...)
	changed = append(changed, ofKind(h.mail.refused()[refused:], "changed")...)
	ended := h.sessions.take()
	if want != nil {
		if !reflect.DeepEqual(after, before) {
			t.Errorf("accounts: got %+v, want unchanged %+v", after, before)
		}
		if len(ended) != 0 {
			t.Errorf("sessions ended of %q, want none", ended)
		}
		if len(changed) != 0 {
			t.Errorf("password-changed mails: got %+v, want none", changed)
		}
		return
	}
	wantAlice := before[alice.ID]
	wantAlice.PasswordHash = fakeHash(plain)
	wantAlice.SessionVersion++
	if got := after[alice.ID]; got != wantAlice {
		t.Errorf("alice: got %+v, want %+v", got, wantAlice)
	}
	for id, a := range before {
		if id != alice.ID && after[id] != a {
			t.Errorf("account %s: got %+v, want unchanged", id, after[id])
		}
	}
	if len(changed) != 1 || changed[0].To != wantAlice.Email {
		t.Errorf("password-changed mails: got %+v, want one to %s", changed, wantAlice.Email)
	}
	if !slices.Equal(ended, []string{alice.ID}) {
		t.Errorf("sessions ended of %q, want alice's (%s) once", ended, alice.ID)
	}
}

// reqWith is a reset of l's password to newPassword with code.
func reqWith(l Lookup, code Code) CodeReset {
	return CodeReset{Account: l, Code: code, NewPassword: newPassword}
}

// attempts returns the attempts counted at l's code.
func attempts(t *testing.T, h *harness, l Lookup) int {
	t.Helper()
	rec, ok := h.store.code(h.subjectOf(l))
	if !ok {
		t.Fatalf("no code under %+v", l)
	}
	return rec.Attempts
}

// storeCode writes a code record as IssueCode would, for the records no
// flow writes with a known code: a decoy's, and one from before owners.
func storeCode(t *testing.T, h *harness, l Lookup, code Code, edit func(*CodeRecord)) {
	t.Helper()
	subj, key := h.subjectOf(l), h.keys.current
	rec := CodeRecord{
		Subject:   subj,
		ID:        "0123456789abcdef0123456789abcdef",
		KeyID:     key.ID,
		ExpiresAt: h.clock.Now().Add(testSettings().OTPTTL),
		Owner:     h.decoyOwnerOf(l),
	}
	rec.Hash = hashCode(key, subj, rec.ID, code)
	edit(&rec)
	if _, err := h.store.IssueCode(t.Context(), rec, h.svc.sendLimit(), h.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

func spentOn(max int) func(*Settings) {
	return func(s *Settings) { s.MaxFailuresPerDay = max }
}

var resetWithCodeCases = []resetCase[CodeReset]{
	{
		name:    "right code: password set, code consumed, owner told",
		arrange: func(t *testing.T, h *harness) CodeReset { return reqWith(byAlice, h.codeFor(t, byAlice)) },
		calls:   append(slices.Clone(wrongGuessCalls), "AccountByID", "ConsumeCode"),
		check: func(t *testing.T, h *harness, err error) {
			if rec, ok := h.store.code(h.subjectOf(byAlice)); ok {
				t.Errorf("code %+v still stored; want it consumed", rec)
			}
		},
	},
	{
		name:    "right code by user name",
		arrange: func(t *testing.T, h *harness) CodeReset { return reqWith(byAliceName, h.codeFor(t, byAliceName)) },
	},
	{
		// The same password again is a repeat, answered with its success
		// (TestRetry...); another is refused as any used code is.
		name: "used code, another password: ErrNoCode",
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.codeFor(t, byAlice)
			if err := h.guess(t, byAlice, code); err != nil {
				t.Fatalf("first use: %v", err)
			}
			r := reqWith(byAlice, code)
			r.NewPassword = "Another-Long-Passphrase-9"
			return r
		},
		want: ErrNoCode,
	},
	{
		name:     "policy: a weak password costs no attempt",
		settings: func(s *Settings) { s.MaxAttempts = 1 },
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			r.NewPassword = "password"
			return r
		},
		want:  rejected("password"),
		calls: []string{"CountRequest"},
		check: func(t *testing.T, h *harness, err error) {
			if n := attempts(t, h, byAlice); n != 0 {
				t.Errorf("attempts: got %d, want 0", n)
			}
			// The one attempt is still there for the right code.
			if err := h.guess(t, byAlice, h.mail.all()[0].Code); err != nil {
				t.Errorf("right code after the refusal: got %v, want nil", err)
			}
		},
	},
	{
		name: "policy: the name asked by as the password costs no attempt",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAliceName, h.codeFor(t, byAliceName))
			r.NewPassword = alice.Username
			return r
		},
		want:  rejected(alice.Username, alice.Username),
		calls: []string{"CountRequest"},
		check: func(t *testing.T, h *harness, err error) {
			if n := attempts(t, h, byAliceName); n != 0 {
				t.Errorf("attempts: got %d, want 0", n)
			}
		},
	},
	{
		name: "policy: the account's other name as the password, refused once the code proved right",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			r.NewPassword = alice.Username
			return r
		},
		want: rejected(alice.Username, alice.Username),
		check: func(t *testing.T, h *harness, err error) {
			if n := attempts(t, h, byAlice); n != 1 {
				t.Errorf("attempts: got %d, want 1 (the guess was counted)", n)
			}
		},
	},
	{
		name: "policy: a breached password, refused once the code proved right",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			r.NewPassword = breachedPassword
			return r
		},
		want: &password.Rejection{Reason: password.ReasonBreached},
	},
	{
		name:    "policy: a wrong guess never asks the breach service",
		arrange: func(t *testing.T, h *harness) CodeReset { return reqWith(byAlice, wrong(h.codeFor(t, byAlice))) },
		want:    ErrInvalidCode,
		check: func(t *testing.T, h *harness, err error) {
			if h.breaches.asked != 0 {
				t.Errorf("breach service asked %d times; want 0", h.breaches.asked)
			}
		},
	},
	{
		name: "policy: the breach service failing lets the password through, with a warning",
		arrange: func(t *testing.T, h *harness) CodeReset {
			h.breaches.err = errors.New("pwned: timeout")
			return reqWith(byAlice, h.codeFor(t, byAlice))
		},
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "WARN", "breached-password check failed", "pwned: timeout")
		},
	},
	{
		name: "policy: the current password",
		arrange: func(t *testing.T, h *harness) CodeReset {
			current, err := bcrypt.GenerateFromPassword([]byte(newPassword), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			h.store.editAccount(alice.ID, func(a *Account) { a.PasswordHash = string(current) })
			return reqWith(byAlice, h.codeFor(t, byAlice))
		},
		want: &password.Rejection{Reason: password.ReasonSameAsCurrent},
	},
	{
		name: "policy: a current hash it cannot read does not block the reset",
		arrange: func(t *testing.T, h *harness) CodeReset {
			h.store.editAccount(alice.ID, func(a *Account) { a.PasswordHash = "{APP-SCHEME}c2VjcmV0" })
			return reqWith(byAlice, h.codeFor(t, byAlice))
		},
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "WARN", "compare with current password")
			checkNotInLog(t, h, "c2VjcmV0")
		},
	},
	{
		name:    "wrong code",
		arrange: func(t *testing.T, h *harness) CodeReset { return reqWith(byAlice, wrong(h.codeFor(t, byAlice))) },
		want:    ErrInvalidCode,
		calls:   wrongGuessCalls,
		check: func(t *testing.T, h *harness, err error) {
			if n := attempts(t, h, byAlice); n != 1 {
				t.Errorf("attempts: got %d, want 1", n)
			}
		},
	},
	{
		name:    "no code",
		arrange: func(t *testing.T, h *harness) CodeReset { return reqWith(byAlice, "123456") },
		want:    ErrNoCode,
		calls:   []string{"CountRequest", "CountGuess", "FindReceipt"},
	},
	{
		name:    "decoy: unknown account without a record, like a known one without a code",
		arrange: func(t *testing.T, h *harness) CodeReset { return reqWith(byNobody, "123456") },
		want:    ErrNoCode,
		calls:   []string{"CountRequest", "CountGuess", "FindReceipt"},
	},
	{
		name: "decoy: a guess at an unknown account's record, like a wrong one",
		arrange: func(t *testing.T, h *harness) CodeReset {
			if err := h.svc.RequestCode(t.Context(), CodeRequest{Account: byNobody, IP: clientIP}); err != nil {
				t.Fatal(err)
			}
			return reqWith(byNobody, "123456")
		},
		want:  ErrInvalidCode,
		calls: wrongGuessCalls,
	},
	{
		name: "decoy: its record never wins, even with its right code",
		arrange: func(t *testing.T, h *harness) CodeReset {
			storeCode(t, h, byNobody, "424242", func(*CodeRecord) {})
			return reqWith(byNobody, "424242")
		},
		want:  ErrInvalidCode,
		calls: wrongGuessCalls,
	},
	{
		name: "a record from before owners never wins",
		arrange: func(t *testing.T, h *harness) CodeReset {
			storeCode(t, h, byAlice, "424242", func(r *CodeRecord) {
				r.AccountID, r.SessionVersion, r.Owner = alice.ID, alice.SessionVersion, ""
				r.Recipient = codeRecipient(h.keys.subject, alice.Email)
			})
			return reqWith(byAlice, "424242")
		},
		want: ErrInvalidCode,
	},
	{
		name: "expiry: the clock at the code's expiry",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.clock.advance(testSettings().OTPTTL)
			return r
		},
		want:  ErrExpired,
		calls: []string{"CountRequest", "CountGuess"},
	},
	{
		name: "expiry: a second before, live",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.clock.advance(testSettings().OTPTTL - time.Second)
			return r
		},
	},
	{
		name:     "attempts: the code's guesses spent, even a right one",
		settings: func(s *Settings) { s.MaxAttempts = 2 },
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.codeFor(t, byAlice)
			for range 2 {
				if err := h.guess(t, byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("wrong guess: got %v, want %v", err, ErrInvalidCode)
				}
			}
			h.clock.advance(20 * time.Second)
			return reqWith(byAlice, code)
		},
		want:  ErrTooManyAttempts,
		calls: []string{"CountRequest", "CountGuess"},
		check: func(t *testing.T, h *harness, err error) {
			// A new code can come once the name may be sent another.
			if got := RetryAfter(err); got != 40*time.Second {
				t.Errorf("RetryAfter: got %v, want 40s", got)
			}
		},
	},
	{
		name:     "attempts: the name's daily failures spent, a new code does not restore them",
		settings: spentOn(2),
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.codeFor(t, byAlice)
			for range 2 {
				if err := h.guess(t, byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("wrong guess: got %v, want %v", err, ErrInvalidCode)
				}
			}
			h.later()
			return reqWith(byAlice, h.codeFor(t, byAlice))
		},
		want:  ErrTooManyAttempts,
		calls: []string{"CountRequest", "CountGuess"},
		check: func(t *testing.T, h *harness, err error) {
			if got, want := RetryAfter(err), 24*time.Hour-time.Minute; got != want {
				t.Errorf("RetryAfter: got %v, want %v", got, want)
			}
		},
	},
	{
		name: "device: wrong code from another device",
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.requestCode(t, CodeRequest{Account: byAlice, Device: "UA-1", BindDevice: true})
			r := reqWith(byAlice, wrong(code))
			r.Device = "UA-2"
			return r
		},
		want: ErrInvalidCode,
	},
	{
		name: "device: right code from another device",
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.requestCode(t, CodeRequest{Account: byAlice, Device: "UA-1", BindDevice: true})
			r := reqWith(byAlice, code)
			r.Device = "UA-2"
			return r
		},
		want:  ErrDeviceMismatch,
		calls: wrongGuessCalls,
		check: func(t *testing.T, h *harness, err error) {
			if n := attempts(t, h, byAlice); n != 1 {
				t.Errorf("attempts: got %d, want 1 (a mismatch counts as a wrong guess)", n)
			}
		},
	},
	{
		name: "device: right code from the same device",
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.requestCode(t, CodeRequest{Account: byAlice, Device: "UA-1", BindDevice: true})
			r := reqWith(byAlice, code)
			r.Device = "UA-1"
			return r
		},
	},
	{
		name: "device: a code not bound works from any device",
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.requestCode(t, CodeRequest{Account: byAlice, Device: "UA-1"})
			r := reqWith(byAlice, code)
			r.Device = "UA-2"
			return r
		},
	},
	{
		name: "recipient: the account's email changed since the mail",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.store.editAccount(alice.ID, func(a *Account) { a.Email = "alice@elsewhere.test" })
			return r
		},
		want:  ErrInvalidCode,
		calls: append(slices.Clone(wrongGuessCalls), "AccountByID"),
	},
	{
		name: "account: inactive since the mail",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.store.editAccount(alice.ID, func(a *Account) { a.Active = false })
			return r
		},
		want:  ErrInvalidCode,
		calls: append(slices.Clone(wrongGuessCalls), "AccountByID"),
	},
	{
		name: "account: deleted since the mail",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.store.deleteAccount(alice.ID)
			return r
		},
		want: ErrInvalidCode,
	},
	{
		name: "account: password changed elsewhere since (session_version)",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.store.editAccount(alice.ID, func(a *Account) { a.SessionVersion++ })
			return r
		},
		// Refused on reading the account, before the breach check and the
		// hashing; ConsumeCode's condition would refuse it too.
		want:  ErrInvalidCode,
		calls: append(slices.Clone(wrongGuessCalls), "AccountByID"),
	},
	{
		name: "supersession: a code asked by the account's other name",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.codeFor(t, byAliceName)
			return r
		},
		want:  ErrInvalidCode,
		calls: append(slices.Clone(wrongGuessCalls), "AccountByID", "ConsumeCode"),
	},
	{
		name: "supersession: the other name's newer code works",
		arrange: func(t *testing.T, h *harness) CodeReset {
			h.codeFor(t, byAlice)
			return reqWith(byAliceName, h.codeFor(t, byAliceName))
		},
	},
	{
		name: "supersession: a link",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.later()
			h.linkFor(t, alice.Email)
			return r
		},
		want: ErrInvalidCode,
	},
	{
		name: "supersession: a newer code for the same name",
		arrange: func(t *testing.T, h *harness) CodeReset {
			first := h.codeFor(t, byAlice)
			h.later()
			if second := h.codeFor(t, byAlice); second == first {
				t.Fatalf("both codes are %v; want two different codes", first.Reveal())
			}
			return reqWith(byAlice, first)
		},
		want:  ErrInvalidCode,
		calls: wrongGuessCalls,
	},
	{
		name: "keys: a code of the previous key works after a rotation",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.keys.rotate(Key{ID: "k3", Secret: []byte("the next code key, 32 bytes or more....")})
			return r
		},
	},
	{
		name: "keys: a code of a key no longer held is a dependency failure",
		arrange: func(t *testing.T, h *harness) CodeReset {
			r := reqWith(byAlice, h.codeFor(t, byAlice))
			h.keys.rotate(Key{ID: "k3", Secret: []byte("the next code key, 32 bytes or more....")})
			h.keys.rotate(Key{ID: "k4", Secret: []byte("the one after that, 32 bytes or more...")})
			return r
		},
		want: errUnknownKey,
	},
	{
		name:     "revealed: unknown account, refused before the guess counts",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeReset { return reqWith(byNobody, "123456") },
		want:     ErrUnknownAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
	},
	{
		name:     "revealed: inactive account",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeReset { return reqWith(byBob, "123456") },
		want:     ErrInactiveAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
	},
	{
		name:     "revealed: ambiguous user name answered as unknown",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeReset { return reqWith(byTwinsName, "123456") },
		want:     ErrUnknownAccount,
		calls:    []string{"CountRequest", "AccountByUsername"},
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "WARN", "more than one account", "by=username")
			checkNotInLog(t, h, twin1.Username)
		},
	},
	{
		name:     "revealed: a known account guesses as usual",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeReset { return reqWith(byAlice, h.codeFor(t, byAlice)) },
		calls:    []string{"CountRequest", "AccountByEmail", "CountGuess", "CountOwnerFailure", "AccountByID", "ConsumeCode"},
	},
	{
		name:     "per-IP limit on guesses, apart from sends",
		settings: func(s *Settings) { s.IPLimit = 1 },
		arrange: func(t *testing.T, h *harness) CodeReset {
			code := h.codeFor(t, byAlice)
			if err := h.guess(t, byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("first guess: got %v, want %v", err, ErrInvalidCode)
			}
			return reqWith(byAlice, code)
		},
		want:  ErrRateLimited,
		calls: []string{"CountRequest"},
	},
	{
		name: "notice: the password-changed mail failing is logged, never returned",
		arrange: func(t *testing.T, h *harness) CodeReset {
			h.mail.failing("changed", errMailDown)
			return reqWith(byAlice, h.codeFor(t, byAlice))
		},
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "ERROR", "send password-changed mail", errMailDown.Error())
		},
	},
}

func TestResetWithCode(t *testing.T) {
	for _, tt := range resetWithCodeCases {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.settings)
			req := tt.arrange(t, h)
			if req.IP == "" {
				req.IP = clientIP
			}
			h.store.takeCalls()
			h.sessions.take()
			before := h.store.snapshot().Accounts
			mails, refused := len(h.mail.all()), len(h.mail.refused())
			var err error
			checkWait(t, h, false, func() { err = h.svc.ResetWithCode(t.Context(), req) })
			if !is(err, tt.want) {
				t.Fatalf("ResetWithCode(%+v): got %v, want %v", req.Account, err, tt.want)
			}
			if tt.calls != nil {
				checkCalls(t, h, tt.calls)
			}
			checkPasswordSet(t, h, before, tt.want, req.NewPassword, mails, refused)
			if tt.check != nil {
				tt.check(t, h, err)
			}
		})
	}
}

// TestOwnerFailureBudget: the account-wide failure budget, across the
// account's names, is never shown, only obeyed, and its owner is told
// once when it becomes spent; a decoy's turn spends a mail's time.
func TestOwnerFailureBudget(t *testing.T) {
	const budget = 3
	// spend makes budget wrong guesses at l's code, the last one timed
	// with wait, and returns the store calls of the last one.
	spend := func(t *testing.T, h *harness, l Lookup, wait bool) []string {
		t.Helper()
		if err := h.svc.RequestCode(t.Context(), CodeRequest{Account: l, IP: clientIP}); err != nil {
			t.Fatal(err)
		}
		var code Code = "000000"
		if m := h.mail.all(); len(m) > 0 {
			code = wrong(m[len(m)-1].Code)
		}
		for i := range budget {
			if i == budget-1 {
				h.store.takeCalls()
				var err error
				checkWait(t, h, wait, func() { err = h.guess(t, l, code) })
				if !errors.Is(err, ErrInvalidCode) {
					t.Fatalf("guess %d: got %v, want %v", i+1, err, ErrInvalidCode)
				}
				return h.store.takeCalls()
			}
			if err := h.guess(t, l, code); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("guess %d: got %v, want %v", i+1, err, ErrInvalidCode)
			}
		}
		return nil
	}
	spendingCalls := append(slices.Clone(wrongGuessCalls), "ClaimNotice", "AccountByID")

	tests := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"spent: the owner told once through ClaimNotice", func(t *testing.T, h *harness) {
			if calls := spend(t, h, byAlice, false); !slices.Equal(calls, spendingCalls) {
				t.Errorf("spending guess: store calls %v, want %v", calls, spendingCalls)
			}
			// Another name of the account: its guess finds the budget spent.
			h.later()
			code := h.codeFor(t, byAliceName)
			h.store.takeCalls()
			if err := h.guess(t, byAliceName, wrong(code)); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("guess past the budget: got %v, want %v", err, ErrInvalidCode)
			}
			checkCalls(t, h, append(slices.Clone(wrongGuessCalls), "ClaimNotice"))
			if got := ofKind(h.mail.all(), "notice"); len(got) != 1 || got[0].To != alice.Email {
				t.Errorf("notices: got %+v, want one to %s", got, alice.Email)
			}
		}},
		{"spent: the budget spans the account's names", func(t *testing.T, h *harness) {
			code := h.codeFor(t, byAlice)
			for range budget - 1 {
				if err := h.guess(t, byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
					t.Fatal(err)
				}
			}
			h.later()
			code = h.codeFor(t, byAliceName)
			if err := h.guess(t, byAliceName, wrong(code)); !errors.Is(err, ErrInvalidCode) {
				t.Fatal(err)
			}
			if got := ofKind(h.mail.all(), "notice"); len(got) != 1 {
				t.Errorf("notices: got %+v, want one", got)
			}
		}},
		{"spent: a right guess past it never wins", func(t *testing.T, h *harness) {
			spend(t, h, byAlice, false)
			h.later()
			code := h.codeFor(t, byAliceName)
			before := h.store.account(alice.ID)
			if err := h.guess(t, byAliceName, code); !errors.Is(err, ErrInvalidCode) {
				t.Errorf("right guess past the budget: got %v, want %v", err, ErrInvalidCode)
			}
			if got := h.store.account(alice.ID); got != before {
				t.Errorf("alice: got %+v, want unchanged", got)
			}
		}},
		{"spent: told again once the window has passed", func(t *testing.T, h *harness) {
			spend(t, h, byAlice, false)
			h.clock.advance(failureWindow)
			spend(t, h, byAlice, false)
			if got := ofKind(h.mail.all(), "notice"); len(got) != 2 {
				t.Errorf("notices: got %d, want 2", len(got))
			}
		}},
		{"decoy: spent, the wait instead of a mail, the same calls", func(t *testing.T, h *harness) {
			if calls := spend(t, h, byNobody, true); !slices.Equal(calls, spendingCalls) {
				t.Errorf("spending guess: store calls %v, want %v", calls, spendingCalls)
			}
			if got := h.mail.all(); len(got) != 0 {
				t.Errorf("mails: got %+v, want none", got)
			}
		}},
		{"decoy: an inactive account likewise", func(t *testing.T, h *harness) {
			if calls := spend(t, h, byBob, true); !slices.Equal(calls, spendingCalls) {
				t.Errorf("spending guess: store calls %v, want %v", calls, spendingCalls)
			}
			if got := h.mail.all(); len(got) != 0 {
				t.Errorf("mails: got %+v, want none", got)
			}
		}},
		{"notice: its mail failing is logged, the guess answered as usual", func(t *testing.T, h *harness) {
			h.mail.failing("notice", errMailDown)
			spend(t, h, byAlice, false)
			checkLog(t, h, "ERROR", "send guessing notice", errMailDown.Error())
		}},
		{"notice: ClaimNotice failing is logged, the guess answered as usual", func(t *testing.T, h *harness) {
			h.store.fail["ClaimNotice"] = errors.New("dynamodb: throttled")
			spend(t, h, byAlice, false)
			checkLog(t, h, "WARN", "claim guessing notice", "dynamodb: throttled")
			if got := ofKind(h.mail.all(), "notice"); len(got) != 0 {
				t.Errorf("notices: got %+v, want none", got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.run(t, newHarness(t, func(s *Settings) {
				s.MaxFailuresPerDay = budget
				s.MaxAttempts = 10
			}))
		})
	}
}
