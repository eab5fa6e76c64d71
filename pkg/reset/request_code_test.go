package reset

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var errMailDown = errors.New("ses: throttled after retries")

// sendCase is a row of the send flows' tables.
type sendCase[R any] struct {
	name     string
	settings func(*Settings)
	// arrange prepares the harness and returns the request the row makes.
	arrange func(t *testing.T, h *harness) R
	want    error
	// mailTo is where the request's one mail goes; "" when none does.
	mailTo string
	// wait is true when the answer spends a mail's time instead of mailing.
	wait  bool
	calls []string // the store calls of the request itself
	check func(t *testing.T, h *harness, err error)
}

// checkRecord fails unless the name l's code is its owner's latest record
// and a real code of acct, or, when acct is inactive or unknown (zero), a
// decoy: no account, no recipient, an owner of the name's own.
func checkRecord(t *testing.T, h *harness, l Lookup, acct Account) {
	t.Helper()
	rec, ok := h.store.code(h.subjectOf(l))
	if !ok {
		t.Fatalf("no code stored under %+v", l)
	}
	want := CodeRecord{Owner: h.decoyOwnerOf(l), SessionVersion: rec.SessionVersion}
	if acct.Active {
		want = CodeRecord{AccountID: acct.ID, Owner: h.ownerOf(acct), Recipient: codeRecipient(h.keys.subject, acct.Email), SessionVersion: acct.SessionVersion}
	}
	if rec.AccountID != want.AccountID || rec.Owner != want.Owner || rec.Recipient != want.Recipient || rec.SessionVersion != want.SessionVersion {
		t.Errorf("record: got account %q owner %q recipient %q sv %d; want %q %q %q %d",
			rec.AccountID, rec.Owner, rec.Recipient, rec.SessionVersion, want.AccountID, want.Owner, want.Recipient, want.SessionVersion)
	}
	wantOwner := want.Owner
	if want := h.clock.Now().Add(testSettings().OTPTTL); !rec.ExpiresAt.Equal(want) {
		t.Errorf("record expires at %v; want %v", rec.ExpiresAt, want)
	}
	if got := h.store.latest(wantOwner); got != rec.ID {
		t.Errorf("owner's latest: got %q, want the record %q", got, rec.ID)
	}
}

// checkWithdrawn fails unless l's code is gone and its owner has no latest.
func checkWithdrawn(t *testing.T, h *harness, l Lookup, owner string) {
	t.Helper()
	if rec, ok := h.store.code(h.subjectOf(l)); ok {
		t.Errorf("code %+v still stored; want it withdrawn", rec)
	}
	if got := h.store.latest(owner); got != "" {
		t.Errorf("owner's latest: got %q, want none", got)
	}
}

var requestCodeCases = []sendCase[CodeRequest]{
	{
		name:    "known account by email",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byAlice} },
		mailTo:  alice.Email,
		calls:   codeByEmailCalls,
		check: func(t *testing.T, h *harness, err error) {
			checkRecord(t, h, byAlice, alice)
			if rec, _ := h.store.code(h.subjectOf(byAlice)); rec.Device != "" {
				t.Errorf("device: got %q, want none when not asked", rec.Device)
			}
		},
	},
	{
		name:    "known account by user name: mailed to the stored address",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byAliceName} },
		mailTo:  alice.Email,
		calls:   codeByNameCalls,
		check:   func(t *testing.T, h *harness, err error) { checkRecord(t, h, byAliceName, alice) },
	},
	{
		name: "bound to the device when asked",
		arrange: func(t *testing.T, h *harness) CodeRequest {
			return CodeRequest{Account: byAlice, Device: "UA-1", BindDevice: true}
		},
		mailTo: alice.Email,
		calls:  codeByEmailCalls,
		check: func(t *testing.T, h *harness, err error) {
			if rec, _ := h.store.code(h.subjectOf(byAlice)); rec.Device != deviceHash("UA-1") {
				t.Errorf("device: got %q, want deviceHash(UA-1)", rec.Device)
			}
		},
	},
	{
		name:    "decoy: unknown email, same calls as a known one, no mail, the wait",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byNobody} },
		wait:    true,
		calls:   codeByEmailCalls,
		check:   func(t *testing.T, h *harness, err error) { checkRecord(t, h, byNobody, Account{}) },
	},
	{
		name:    "decoy: unknown user name",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byNobodysName} },
		wait:    true,
		calls:   codeByNameCalls,
		check:   func(t *testing.T, h *harness, err error) { checkRecord(t, h, byNobodysName, Account{}) },
	},
	{
		name:    "decoy: inactive account",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byBob} },
		wait:    true,
		calls:   codeByEmailCalls,
		check:   func(t *testing.T, h *harness, err error) { checkRecord(t, h, byBob, bob) },
	},
	{
		name:    "decoy: ambiguous email, a warning without the address",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byTwins} },
		wait:    true,
		calls:   codeByEmailCalls,
		check: func(t *testing.T, h *harness, err error) {
			checkRecord(t, h, byTwins, Account{})
			checkLog(t, h, "WARN", "more than one account", "by=email")
			checkNotInLog(t, h, twin1.Email, "twin", "@")
		},
	},
	{
		name:    "decoy: ambiguous user name, a warning without the name",
		arrange: func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byTwinsName} },
		wait:    true,
		calls:   codeByNameCalls,
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "WARN", "more than one account", "by=username")
			checkNotInLog(t, h, twin1.Username, "twin")
		},
	},
	{
		name:     "revealed: unknown email",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byNobody} },
		want:     ErrUnknownAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
	},
	{
		name:     "revealed: inactive account",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byBob} },
		want:     ErrInactiveAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
	},
	{
		name:     "revealed: ambiguous email",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byTwins} },
		want:     ErrUnknownAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
		check: func(t *testing.T, h *harness, err error) {
			if errors.Is(err, ErrAmbiguousAccount) {
				t.Errorf("got %v; want the store's ErrAmbiguousAccount never returned", err)
			}
			checkNotInLog(t, h, twin1.Email)
		},
	},
	{
		name:     "revealed: known account is mailed",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) CodeRequest { return CodeRequest{Account: byAlice} },
		mailTo:   alice.Email,
		calls:    codeByEmailCalls,
	},
	{
		name:     "per-IP limit: refused before the users table is read",
		settings: func(s *Settings) { s.IPLimit = 1 },
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.codeFor(t, byAliceName)
			h.clock.advance(10 * time.Minute)
			return CodeRequest{Account: byAlice}
		},
		want:  ErrRateLimited,
		calls: []string{"CountRequest"},
		check: func(t *testing.T, h *harness, err error) {
			if got := RetryAfter(err); got != 50*time.Minute {
				t.Errorf("RetryAfter: got %v, want 50m", got)
			}
		},
	},
	{
		name: "per-IP limit: another IP is not held back",
		settings: func(s *Settings) {
			s.IPLimit = 1
		},
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.codeFor(t, byAliceName)
			return CodeRequest{Account: byAlice, IP: "198.51.100.7"}
		},
		mailTo: alice.Email,
		calls:  codeByEmailCalls,
	},
	{
		name: "send limit: least interval",
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.codeFor(t, byAlice)
			h.clock.advance(20 * time.Second)
			return CodeRequest{Account: byAlice}
		},
		want:  ErrRateLimited,
		calls: codeByEmailCalls,
		check: func(t *testing.T, h *harness, err error) {
			if got := RetryAfter(err); got != 40*time.Second {
				t.Errorf("RetryAfter: got %v, want 40s", got)
			}
		},
	},
	{
		name: "send limit: least interval passed to the second",
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.codeFor(t, byAlice)
			h.clock.advance(time.Minute)
			return CodeRequest{Account: byAlice}
		},
		mailTo: alice.Email,
		calls:  codeByEmailCalls,
	},
	{
		name:     "send limit: the name's sends per hour",
		settings: func(s *Settings) { s.MaxSendsPerHour = 2 },
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.codeFor(t, byAlice)
			h.later()
			h.codeFor(t, byAlice)
			h.later()
			return CodeRequest{Account: byAlice}
		},
		want:  ErrRateLimited,
		calls: codeByEmailCalls,
		check: func(t *testing.T, h *harness, err error) {
			if got := RetryAfter(err); got != 58*time.Minute {
				t.Errorf("RetryAfter: got %v, want 58m", got)
			}
		},
	},
	{
		name:     "send limit: the account-wide limit withholds the mail (IssueCode mail=false)",
		settings: func(s *Settings) { s.MaxSendsPerHour = 1 },
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.codeFor(t, byAlice)
			return CodeRequest{Account: byAliceName}
		},
		wait:  true,
		calls: codeByNameCalls,
		check: func(t *testing.T, h *harness, err error) {
			// Stored and counted under the name like any other code, but
			// not made the latest: nobody received it, and the code
			// mailed before stays the account's live one.
			rec, ok := h.store.code(h.subjectOf(byAliceName))
			if !ok || rec.AccountID != alice.ID {
				t.Fatalf("no code of alice's stored under her user name: %+v", rec)
			}
			if got := h.store.latest(h.ownerOf(alice)); got == "" || got == rec.ID {
				t.Errorf("owner's latest: got %q; want the code mailed before, not the withheld %q", got, rec.ID)
			}
			checkLog(t, h, "INFO", "account-wide send limit spent")
		},
	},
	{
		name: "mail failed: withdrawn, answered as sent",
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.mail.failing("code", errMailDown)
			return CodeRequest{Account: byAlice}
		},
		calls: append(slices.Clone(codeByEmailCalls), "WithdrawCode"),
		check: func(t *testing.T, h *harness, err error) {
			checkWithdrawn(t, h, byAlice, h.ownerOf(alice))
			checkLog(t, h, "ERROR", "mail failed; answered as sent", errMailDown.Error())
			// The send was given back: the retry is not held back.
			h.mail.failing("code", nil)
			h.codeFor(t, byAlice)
		},
	},
	{
		name:     "mail failed, revealed: withdrawn, the error returned",
		settings: reveal,
		arrange: func(t *testing.T, h *harness) CodeRequest {
			h.mail.failing("code", errMailDown)
			return CodeRequest{Account: byAlice}
		},
		want:  errMailDown,
		calls: append(slices.Clone(codeByEmailCalls), "WithdrawCode"),
		check: func(t *testing.T, h *harness, err error) {
			checkWithdrawn(t, h, byAlice, h.ownerOf(alice))
			refused := h.mail.refused()
			if len(refused) != 1 {
				t.Fatalf("refused mails: got %d, want 1", len(refused))
			}
			// The code that never left is dead.
			if err := h.guess(t, byAlice, refused[0].Code); !errors.Is(err, ErrNoCode) {
				t.Errorf("guess with the withdrawn code: got %v, want %v", err, ErrNoCode)
			}
		},
	},
}

func TestRequestCode(t *testing.T) {
	runSendCases(t, requestCodeCases, "code", func(h *harness, req CodeRequest) error {
		if req.IP == "" {
			req.IP = clientIP
		}
		return h.svc.RequestCode(t.Context(), req)
	})
}

// runSendCases runs each row through send, which makes the row's request
// (from clientIP unless the row names an IP), and checks the answer, the
// store calls, the one mail of kind (or none) and the row's own checks.
func runSendCases[R any](t *testing.T, cases []sendCase[R], kind string, send func(*harness, R) error) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.settings)
			req := tt.arrange(t, h)
			h.store.takeCalls()
			before := len(h.mail.all())
			var err error
			checkWait(t, h, tt.wait, func() { err = send(h, req) })
			if !is(err, tt.want) {
				t.Fatalf("request a %s (%+v): got %v, want %v", kind, req, err, tt.want)
			}
			checkCalls(t, h, tt.calls)
			checkMailed(t, h.mail.all()[before:], kind, tt.mailTo)
			if tt.check != nil {
				tt.check(t, h, err)
			}
		})
	}
}

// checkMailed fails unless mails is one mail of kind to to, or none when
// to is "".
func checkMailed(t *testing.T, mails []sentMail, kind, to string) {
	t.Helper()
	if to == "" {
		if len(mails) != 0 {
			t.Errorf("mails: got %+v, want none", mails)
		}
		return
	}
	if len(mails) != 1 || mails[0].Kind != kind || mails[0].To != to {
		t.Errorf("mails: got %+v, want one %s mail to %s", mails, kind, to)
	}
}
