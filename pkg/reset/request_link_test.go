package reset

import (
	"errors"
	"slices"
	"testing"
)

// checkLinkRecord fails unless the name's newest link is its owner's
// latest record and a real link of acct, or, when acct is inactive or
// unknown (zero), a decoy.
func checkLinkRecord(t *testing.T, h *harness, email string, acct Account) {
	t.Helper()
	l := Lookup{Email: mustEmail(email)}
	h.store.mu.Lock()
	var rec LinkRecord
	n := h.store.names[h.subjectOf(l)]
	if n != nil {
		rec = h.store.links[n.linkHash]
	}
	h.store.mu.Unlock()
	if rec.Hash == "" {
		t.Fatalf("no link stored under %q", email)
	}
	wantID, wantOwner, wantSV := "", h.decoyOwnerOf(l), rec.SessionVersion
	if acct.Active {
		wantID, wantOwner, wantSV = acct.ID, h.ownerOf(acct), acct.SessionVersion
	}
	if rec.AccountID != wantID || rec.Owner != wantOwner || rec.SessionVersion != wantSV || (rec.Recipient == "") != (wantID == "") {
		t.Errorf("link: got account %q owner %q sv %d recipient set %t; want %q %q %d %t",
			rec.AccountID, rec.Owner, rec.SessionVersion, rec.Recipient != "", wantID, wantOwner, wantSV, wantID != "")
	}
	if want := h.clock.Now().Add(testSettings().LinkTTL); !rec.ExpiresAt.Equal(want) {
		t.Errorf("link expires at %v; want %v", rec.ExpiresAt, want)
	}
	if got := h.store.latest(wantOwner); got != string(rec.Hash) {
		t.Errorf("owner's latest: got %q, want the link", got)
	}
}

var requestLinkCases = []sendCase[LinkRequest]{
	{
		name:    "known account: the link to the stored address",
		arrange: func(t *testing.T, h *harness) LinkRequest { return LinkRequest{Email: mustEmail(alice.Email)} },
		mailTo:  alice.Email,
		calls:   linkCalls,
		check: func(t *testing.T, h *harness, err error) {
			checkLinkRecord(t, h, alice.Email, alice)
			mails := h.mail.all()
			tok := tokenOf(t, mails[len(mails)-1].Link)
			if got := h.svc.CheckLink(t.Context(), tok); got != nil {
				t.Errorf("CheckLink(the mailed token): got %v, want nil", got)
			}
		},
	},
	{
		name:    "decoy: unknown email, same calls as a known one, no mail, the wait",
		arrange: func(t *testing.T, h *harness) LinkRequest { return LinkRequest{Email: byNobody.Email} },
		wait:    true,
		calls:   linkCalls,
		check:   func(t *testing.T, h *harness, err error) { checkLinkRecord(t, h, byNobody.Email.String(), Account{}) },
	},
	{
		name:    "decoy: inactive account",
		arrange: func(t *testing.T, h *harness) LinkRequest { return LinkRequest{Email: mustEmail(bob.Email)} },
		wait:    true,
		calls:   linkCalls,
		check:   func(t *testing.T, h *harness, err error) { checkLinkRecord(t, h, bob.Email, bob) },
	},
	{
		name:    "decoy: ambiguous email, a warning without the address",
		arrange: func(t *testing.T, h *harness) LinkRequest { return LinkRequest{Email: mustEmail(twin1.Email)} },
		wait:    true,
		calls:   linkCalls,
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "WARN", "more than one account", "by=email")
			checkNotInLog(t, h, twin1.Email, "@")
		},
	},
	{
		name:     "revealed: unknown email",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) LinkRequest { return LinkRequest{Email: byNobody.Email} },
		want:     ErrUnknownAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
	},
	{
		name:     "revealed: inactive account",
		settings: reveal,
		arrange:  func(t *testing.T, h *harness) LinkRequest { return LinkRequest{Email: mustEmail(bob.Email)} },
		want:     ErrInactiveAccount,
		calls:    []string{"CountRequest", "AccountByEmail"},
	},
	{
		name:     "per-IP limit",
		settings: func(s *Settings) { s.IPLimit = 1 },
		arrange: func(t *testing.T, h *harness) LinkRequest {
			h.codeFor(t, byAliceName)
			return LinkRequest{Email: mustEmail(alice.Email)}
		},
		want:  ErrRateLimited,
		calls: []string{"CountRequest"},
	},
	{
		name: "send limit: a code and a link to one name share the least interval",
		arrange: func(t *testing.T, h *harness) LinkRequest {
			h.codeFor(t, byAlice)
			return LinkRequest{Email: mustEmail(alice.Email)}
		},
		want:  ErrRateLimited,
		calls: linkCalls,
	},
	{
		name:     "send limit: the account-wide limit withholds the mail (IssueLink mail=false)",
		settings: func(s *Settings) { s.MaxSendsPerHour = 1 },
		arrange: func(t *testing.T, h *harness) LinkRequest {
			h.codeFor(t, byAliceName)
			return LinkRequest{Email: mustEmail(alice.Email)}
		},
		wait:  true,
		calls: linkCalls,
		check: func(t *testing.T, h *harness, err error) {
			// Stored, not made the latest: the code mailed before lives.
			h.store.mu.Lock()
			n := h.store.names[h.subjectOf(Lookup{Email: mustEmail(alice.Email)})]
			h.store.mu.Unlock()
			if n == nil || n.linkHash == "" {
				t.Fatal("no link stored under alice's email")
			}
			if got := h.store.latest(h.ownerOf(alice)); got == "" || got == string(n.linkHash) {
				t.Errorf("owner's latest: got %q; want the code mailed before, not the withheld link", got)
			}
			checkLog(t, h, "INFO", "account-wide send limit spent")
		},
	},
	{
		name:     "not held back by a spent failure budget",
		settings: func(s *Settings) { s.MaxFailuresPerDay = 1 },
		arrange: func(t *testing.T, h *harness) LinkRequest {
			code := h.codeFor(t, byAliceName)
			if err := h.guess(t, byAliceName, wrong(code)); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("wrong guess: got %v, want %v", err, ErrInvalidCode)
			}
			return LinkRequest{Email: mustEmail(alice.Email)}
		},
		mailTo: alice.Email,
		calls:  linkCalls,
		check: func(t *testing.T, h *harness, err error) {
			mails := h.mail.all()
			tok := tokenOf(t, mails[len(mails)-1].Link)
			if err := h.svc.ResetWithLink(t.Context(), LinkReset{Token: tok, NewPassword: newPassword, IP: clientIP}); err != nil {
				t.Errorf("ResetWithLink after the budget was spent: got %v, want nil", err)
			}
		},
	},
	{
		name: "mail failed: withdrawn, answered as sent",
		arrange: func(t *testing.T, h *harness) LinkRequest {
			h.mail.failing("link", errMailDown)
			return LinkRequest{Email: mustEmail(alice.Email)}
		},
		calls: append(slices.Clone(linkCalls), "WithdrawLink"),
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "ERROR", "mail failed; answered as sent", errMailDown.Error())
			if got := h.store.latest(h.ownerOf(alice)); got != "" {
				t.Errorf("owner's latest: got %q, want none", got)
			}
			refused := h.mail.refused()
			if len(refused) != 1 {
				t.Fatalf("refused mails: got %d, want 1", len(refused))
			}
			if err := h.svc.CheckLink(t.Context(), tokenOf(t, refused[0].Link)); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("CheckLink(the withdrawn token): got %v, want %v", err, ErrInvalidToken)
			}
			// The send was given back: the retry is not held back.
			h.mail.failing("link", nil)
			h.linkFor(t, alice.Email)
		},
	},
	{
		name:     "mail failed, revealed: withdrawn, the error returned",
		settings: reveal,
		arrange: func(t *testing.T, h *harness) LinkRequest {
			h.mail.failing("link", errMailDown)
			return LinkRequest{Email: mustEmail(alice.Email)}
		},
		want:  errMailDown,
		calls: append(slices.Clone(linkCalls), "WithdrawLink"),
		check: func(t *testing.T, h *harness, err error) {
			if got := h.store.latest(h.ownerOf(alice)); got != "" {
				t.Errorf("owner's latest: got %q, want none", got)
			}
		},
	},
}

func TestRequestLink(t *testing.T) {
	runSendCases(t, requestLinkCases, "link", func(h *harness, req LinkRequest) error {
		if req.IP == "" {
			req.IP = clientIP
		}
		return h.svc.RequestLink(t.Context(), req)
	})
}
