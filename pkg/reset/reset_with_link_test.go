package reset

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// linkState is a state a link token can be in. TestCheckLink and
// TestResetWithLink run every one: the page's check and the reset decide
// alike, and only the reset writes.
type linkState struct {
	name    string
	arrange func(t *testing.T, h *harness) Token
	live    bool
	// reads are the store calls of finding the link and its account;
	// found is true when those pass, so that whether it is the latest is
	// asked next (IsLatest, or the consuming write's condition).
	reads []string
	found bool
	// gone is true when no record is stored under the token: a reset
	// then asks whether it repeats one that used it (retry.go).
	gone bool
}

func (s linkState) want() error {
	if s.live {
		return nil
	}
	return ErrInvalidToken
}

var (
	readsLink    = []string{"FindLink"}
	readsAccount = []string{"FindLink", "AccountByID"}
)

// linkThen asks for a link to alice, runs then, and returns the token.
func linkThen(then func(t *testing.T, h *harness)) func(t *testing.T, h *harness) Token {
	return func(t *testing.T, h *harness) Token {
		tok := h.linkFor(t, alice.Email)
		then(t, h)
		return tok
	}
}

var linkStates = []linkState{
	{
		name:    "live",
		arrange: linkThen(func(*testing.T, *harness) {}),
		live:    true, reads: readsAccount, found: true,
	},
	{
		name:    "expiry: a second before, live",
		arrange: linkThen(func(t *testing.T, h *harness) { h.clock.advance(testSettings().LinkTTL - time.Second) }),
		live:    true, reads: readsAccount, found: true,
	},
	{
		name:    "expiry: the clock at the link's expiry",
		arrange: linkThen(func(t *testing.T, h *harness) { h.clock.advance(testSettings().LinkTTL) }),
		reads:   readsLink,
	},
	{
		name:    "malformed token",
		arrange: func(t *testing.T, h *harness) Token { return "not-a-token" },
	},
	{
		name:    "unknown token",
		arrange: func(t *testing.T, h *harness) Token { return Token(strings.Repeat("ab", 32)) },
		reads:   readsLink, gone: true,
	},
	{
		name: "used",
		arrange: linkThen(func(t *testing.T, h *harness) {
			mails := h.mail.all()
			tok := tokenOf(t, mails[len(mails)-1].Link)
			if err := h.svc.ResetWithLink(t.Context(), LinkReset{Token: tok, NewPassword: "Another-Long-Passphrase-9", IP: clientIP}); err != nil {
				t.Fatalf("first use: %v", err)
			}
		}),
		reads: readsLink, gone: true,
	},
	{
		name: "decoy: a record without an account",
		arrange: func(t *testing.T, h *harness) Token {
			tok := Token(strings.Repeat("cd", 32))
			rec := LinkRecord{
				Hash:      hashToken(tok),
				Subject:   h.subjectOf(byNobody),
				ExpiresAt: h.clock.Now().Add(testSettings().LinkTTL),
				Owner:     h.decoyOwnerOf(byNobody),
			}
			if _, err := h.store.IssueLink(t.Context(), rec, h.svc.sendLimit(), h.clock.Now()); err != nil {
				t.Fatal(err)
			}
			return tok
		},
		reads: readsLink,
	},
	{
		name:    "session_version: password changed since",
		arrange: linkThen(func(t *testing.T, h *harness) { h.store.editAccount(alice.ID, func(a *Account) { a.SessionVersion++ }) }),
		reads:   readsAccount,
	},
	{
		name:    "active: account disabled since",
		arrange: linkThen(func(t *testing.T, h *harness) { h.store.editAccount(alice.ID, func(a *Account) { a.Active = false }) }),
		reads:   readsAccount,
	},
	{
		name: "recipient: the account's email changed since",
		arrange: linkThen(func(t *testing.T, h *harness) {
			h.store.editAccount(alice.ID, func(a *Account) { a.Email = "alice@elsewhere.test" })
		}),
		reads: readsAccount,
	},
	{
		name:    "account deleted since",
		arrange: linkThen(func(t *testing.T, h *harness) { h.store.deleteAccount(alice.ID) }),
		reads:   readsAccount,
	},
	{
		name: "supersession: a newer link",
		arrange: linkThen(func(t *testing.T, h *harness) {
			h.later()
			h.linkFor(t, alice.Email)
		}),
		reads: readsAccount, found: true,
	},
	{
		name: "supersession: the newer of two links is live",
		arrange: func(t *testing.T, h *harness) Token {
			h.linkFor(t, alice.Email)
			h.later()
			return h.linkFor(t, alice.Email)
		},
		live: true, reads: readsAccount, found: true,
	},
	{
		name:    "supersession: a code by the account's user name",
		arrange: linkThen(func(t *testing.T, h *harness) { h.codeFor(t, byAliceName) }),
		reads:   readsAccount, found: true,
	},
	{
		name: "withdrawn: its mail failed",
		arrange: func(t *testing.T, h *harness) Token {
			h.mail.failing("link", errMailDown)
			if err := h.svc.RequestLink(t.Context(), LinkRequest{Email: mustEmail(alice.Email), IP: clientIP}); err != nil {
				t.Fatal(err)
			}
			h.mail.failing("link", nil)
			return tokenOf(t, h.mail.refused()[0].Link)
		},
		reads: readsAccount, found: true,
	},
}

// linkReset is a reset with tok to newPassword.
func linkReset(tok Token) LinkReset {
	return LinkReset{Token: tok, NewPassword: newPassword}
}

var resetWithLinkCases = []resetCase[LinkReset]{
	{
		name: "live link: password set, link consumed, owner told",
		arrange: func(t *testing.T, h *harness) LinkReset {
			return linkReset(h.linkFor(t, alice.Email))
		},
		calls: []string{"CountRequest", "FindLink", "AccountByID", "ConsumeLink"},
		check: func(t *testing.T, h *harness, err error) {
			if len(h.store.snapshot().Links) != 0 {
				t.Errorf("links: got %d stored, want the used one deleted", len(h.store.snapshot().Links))
			}
		},
	},
	{
		name: "policy: a weak password, refused before the token is looked up",
		arrange: func(t *testing.T, h *harness) LinkReset {
			r := linkReset(h.linkFor(t, alice.Email))
			r.NewPassword = "short"
			return r
		},
		want:  rejected("short"),
		calls: []string{"CountRequest"},
	},
	{
		name: "policy: the account's user name, refused once the link proved right; the link stays",
		arrange: func(t *testing.T, h *harness) LinkReset {
			r := linkReset(h.linkFor(t, alice.Email))
			r.NewPassword = alice.Username
			return r
		},
		want:  rejected(alice.Username, alice.Username),
		calls: []string{"CountRequest", "FindLink", "AccountByID"},
		check: func(t *testing.T, h *harness, err error) {
			mails := h.mail.all()
			if err := h.svc.CheckLink(t.Context(), tokenOf(t, mails[len(mails)-1].Link)); err != nil {
				t.Errorf("CheckLink after the refusal: got %v, want nil", err)
			}
		},
	},
	{
		name: "policy: a breached password",
		arrange: func(t *testing.T, h *harness) LinkReset {
			r := linkReset(h.linkFor(t, alice.Email))
			r.NewPassword = breachedPassword
			return r
		},
		want: &password.Rejection{Reason: password.ReasonBreached},
	},
	{
		name:     "per-IP limit",
		settings: func(s *Settings) { s.IPLimit = 1 },
		arrange: func(t *testing.T, h *harness) LinkReset {
			tok := h.linkFor(t, alice.Email)
			if err := h.svc.ResetWithLink(t.Context(), LinkReset{Token: "not-a-token", NewPassword: newPassword, IP: clientIP}); !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("first reset: got %v, want %v", err, ErrInvalidToken)
			}
			return linkReset(tok)
		},
		want:  ErrRateLimited,
		calls: []string{"CountRequest"},
	},
	{
		name: "notice: the password-changed mail failing is logged, never returned",
		arrange: func(t *testing.T, h *harness) LinkReset {
			h.mail.failing("changed", errMailDown)
			return linkReset(h.linkFor(t, alice.Email))
		},
		check: func(t *testing.T, h *harness, err error) {
			checkLog(t, h, "ERROR", "send password-changed mail", errMailDown.Error())
		},
	},
}

func TestResetWithLink(t *testing.T) {
	run := func(t *testing.T, tt resetCase[LinkReset]) {
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
		checkWait(t, h, false, func() { err = h.svc.ResetWithLink(t.Context(), req) })
		if !is(err, tt.want) {
			t.Fatalf("ResetWithLink: got %v, want %v", err, tt.want)
		}
		if tt.calls != nil {
			checkCalls(t, h, tt.calls)
		}
		checkPasswordSet(t, h, before, tt.want, req.NewPassword, mails, refused)
		if tt.check != nil {
			tt.check(t, h, err)
		}
	}
	for _, tt := range resetWithLinkCases {
		t.Run(tt.name, func(t *testing.T) { run(t, tt) })
	}
	for _, s := range linkStates {
		calls := append([]string{"CountRequest"}, s.reads...)
		if s.gone {
			calls = append(calls, "FindReceipt")
		}
		if s.found {
			calls = append(calls, "ConsumeLink")
		}
		t.Run(s.name, func(t *testing.T) {
			run(t, resetCase[LinkReset]{
				name:    s.name,
				arrange: func(t *testing.T, h *harness) LinkReset { return linkReset(s.arrange(t, h)) },
				want:    s.want(),
				calls:   calls,
			})
		})
	}
}

// TestCheckLink: the page's check decides as the reset does, and only
// reads: no write call, nothing in the store changed, and a live link
// still resets afterwards.
func TestCheckLink(t *testing.T) {
	for _, s := range linkStates {
		t.Run(s.name, func(t *testing.T) {
			h := newHarness(t, nil)
			tok := s.arrange(t, h)
			h.store.takeCalls()
			before := h.store.snapshot()
			for range 3 { // a mail scanner, a link preview, the owner
				if err := h.svc.CheckLink(t.Context(), tok); !is(err, s.want()) {
					t.Fatalf("CheckLink: got %v, want %v", err, s.want())
				}
			}
			calls := h.store.takeCalls()
			for _, c := range calls {
				if slices.Contains(storeWrites, c) {
					t.Errorf("store calls: got %v, want no write (%s)", calls, c)
				}
			}
			one := slices.Clone(s.reads)
			if s.found {
				one = append(one, "IsLatest")
			}
			if want := slices.Concat(one, one, one); !slices.Equal(calls, want) {
				t.Errorf("store calls of three checks: got %v, want %v", calls, want)
			}
			if after := h.store.snapshot(); !reflect.DeepEqual(before, after) {
				t.Errorf("store: changed by CheckLink\nbefore %+v\nafter  %+v", before, after)
			}
			if s.live {
				if err := h.svc.ResetWithLink(t.Context(), linkReset(tok)); err != nil {
					t.Errorf("ResetWithLink after the checks: got %v, want nil", err)
				}
			}
		})
	}
}
