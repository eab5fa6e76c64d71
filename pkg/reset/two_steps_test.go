package reset

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// The two steps and the repeats, decided on the fakes; pkg/gateway runs
// the same on DynamoDB Local through the handler.

func (h *harness) grantFor(t *testing.T, l Lookup) Grant {
	t.Helper()
	code := h.codeFor(t, l)
	g, err := h.svc.VerifyCode(t.Context(), CodeCheck{Account: l, Code: code, IP: clientIP})
	if err != nil {
		t.Fatalf("VerifyCode: %v", err)
	}
	return g
}

func (h *harness) completeWith(t *testing.T, g Token, pw string) error {
	t.Helper()
	return h.svc.ResetWithGrant(t.Context(), GrantReset{Grant: g, NewPassword: pw, IP: clientIP})
}

func TestVerifyCodeExchangesTheCode(t *testing.T) {
	h := newHarness(t, nil)
	code := h.codeFor(t, byAlice)
	h.store.takeCalls()
	g, err := h.svc.VerifyCode(t.Context(), CodeCheck{Account: byAlice, Code: code, IP: clientIP})
	if err != nil {
		t.Fatalf("VerifyCode: %v", err)
	}
	if !validToken(g.Token) || g.TTL != testSettings().GrantTTL {
		t.Fatalf("grant: %d chars, TTL %v; want a 64-hex token and GrantTTL", len(g.Token), g.TTL)
	}
	checkCalls(t, h, []string{"CountRequest", "CountGuess", "CountOwnerFailure", "AccountByID", "ExchangeCode"})
	if _, live := h.store.code(h.subjectOf(byAlice)); live {
		t.Error("the code is still live after the exchange")
	}
	rec, ok := h.store.links[hashGrant(g.Token)]
	if !ok {
		t.Fatal("no grant stored under its hash")
	}
	if _, clear := h.store.links[TokenHash(g.Token)]; clear || strings.Contains(rec.Recipient, string(g.Token)) {
		t.Error("the grant is stored in clear")
	}
	if rec.AccountID != alice.ID || rec.SessionVersion != alice.SessionVersion || !rec.ExpiresAt.Equal(t0.Add(testSettings().GrantTTL)) {
		t.Errorf("grant record: %+v; want alice's, her session_version, expiring after GrantTTL", rec)
	}
	if got := h.store.latest(h.ownerOf(alice)); got != string(hashGrant(g.Token)) {
		t.Error("the grant is not the account's latest record")
	}
	if h.store.account(alice.ID).PasswordHash != alice.PasswordHash {
		t.Error("VerifyCode changed the password")
	}
	if err := h.guess(t, byAlice, code); !errors.Is(err, ErrNoCode) {
		t.Errorf("the exchanged code, one step: %v; want ErrNoCode", err)
	}
	// A grant is not a link, nor a link a grant.
	if err := h.svc.ResetWithLink(t.Context(), LinkReset{Token: g.Token, NewPassword: newPassword, IP: clientIP}); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("the grant as a link: %v; want ErrInvalidToken", err)
	}
	if err := h.completeWith(t, g.Token, newPassword); err != nil {
		t.Fatalf("ResetWithGrant: %v", err)
	}
	if got := h.store.account(alice.ID).PasswordHash; got != fakeHash(newPassword) {
		t.Errorf("password hash %q; want the new one", got)
	}
	if n := len(ofKind(h.mail.all(), "changed")); n != 1 {
		t.Errorf("password-changed mails: %d, want 1", n)
	}
}

func TestVerifyCodeRefusals(t *testing.T) {
	h := newHarness(t, func(s *Settings) { s.MaxAttempts = 3 })
	code := h.codeFor(t, byAlice)
	check := func(l Lookup, c Code) error {
		_, err := h.svc.VerifyCode(t.Context(), CodeCheck{Account: l, Code: c, IP: clientIP})
		return err
	}
	if err := check(byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("wrong code: %v", err)
	}
	// A guess at either step is one of the code's MaxAttempts.
	if err := h.guess(t, byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("wrong code, one step: %v", err)
	}
	if err := check(byAlice, wrong(code)); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("third wrong code: %v", err)
	}
	if err := check(byAlice, code); !errors.Is(err, ErrTooManyAttempts) {
		t.Fatalf("right code after MaxAttempts: %v; want ErrTooManyAttempts", err)
	}
	// An unknown account: the same answer as a wrong code, the same calls.
	h2 := newHarness(t, nil)
	c2 := h2.codeFor(t, byAlice)
	if err := h2.svc.RequestCode(t.Context(), CodeRequest{Account: byNobody, IP: clientIP}); err != nil {
		t.Fatal(err)
	}
	h2.store.takeCalls()
	known := func() error {
		_, err := h2.svc.VerifyCode(t.Context(), CodeCheck{Account: byAlice, Code: wrong(c2), IP: clientIP})
		return err
	}()
	kc := h2.store.takeCalls()
	_, unknown := h2.svc.VerifyCode(t.Context(), CodeCheck{Account: byNobody, Code: c2, IP: clientIP})
	uc := h2.store.takeCalls()
	if !errors.Is(known, ErrInvalidCode) || !errors.Is(unknown, ErrInvalidCode) || strings.Join(kc, " ") != strings.Join(uc, " ") {
		t.Errorf("known wrong %v %v, unknown %v %v; want ErrInvalidCode and the same calls", known, kc, unknown, uc)
	}
}

func TestGrantDies(t *testing.T) {
	for _, tt := range []struct {
		name string
		kill func(t *testing.T, h *harness)
	}{
		{"used", func(t *testing.T, h *harness) {}},
		{"expired", func(t *testing.T, h *harness) { h.clock.advance(testSettings().GrantTTL) }},
		{"password changed elsewhere", func(t *testing.T, h *harness) {
			h.store.editAccount(alice.ID, func(a *Account) { a.SessionVersion++ })
		}},
		{"email changed", func(t *testing.T, h *harness) {
			h.store.editAccount(alice.ID, func(a *Account) { a.Email = "alice.new@example.test" })
		}},
		{"a new code", func(t *testing.T, h *harness) { h.later(); h.codeFor(t, byAlice) }},
		{"a new link", func(t *testing.T, h *harness) { h.later(); h.linkFor(t, alice.Email) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			g := h.grantFor(t, byAlice)
			if tt.name == "used" {
				if err := h.completeWith(t, g.Token, newPassword); err != nil {
					t.Fatalf("first use: %v", err)
				}
			}
			tt.kill(t, h)
			before := h.store.account(alice.ID).PasswordHash
			if err := h.completeWith(t, g.Token, "Another-Long-Passphrase-9"); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("ResetWithGrant: %v; want ErrInvalidToken", err)
			}
			if h.store.account(alice.ID).PasswordHash != before {
				t.Error("the password changed")
			}
		})
	}
}

// A password the policy refuses, or the directory's, does not use the
// grant up; on the two-phase back-end too.
func TestGrantSurvivesARefusedPassword(t *testing.T) {
	h, p := twoPhase(t)
	g := h.grantFor(t, byAlice)
	if err := h.completeWith(t, g.Token, "password"); !errors.As(err, new(*password.Rejection)) {
		t.Fatalf("weak password: %v", err)
	}
	p.reject = true
	if err := h.completeWith(t, g.Token, newPassword); !errors.As(err, new(*password.Rejection)) {
		t.Fatalf("the directory refuses: %v", err)
	}
	p.reject = false
	if err := h.completeWith(t, g.Token, newPassword); err != nil {
		t.Fatalf("then a good one: %v", err)
	}
	if err := h.completeWith(t, g.Token, "Another-Long-Passphrase-9"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("used grant: %v; want ErrInvalidToken", err)
	}
}

// A repeat of a completion within retryWindow gets its success and moves
// nothing; another password, or a later repeat, is refused. For every
// completion, on both back-ends.
func TestRepeatedCompletion(t *testing.T) {
	type route struct {
		name    string
		arrange func(t *testing.T, h *harness) func(pw string) error
		invalid error
	}
	routes := []route{
		{"code", func(t *testing.T, h *harness) func(string) error {
			code := h.codeFor(t, byAlice)
			return func(pw string) error {
				return h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: pw, IP: clientIP})
			}
		}, ErrNoCode},
		{"link", func(t *testing.T, h *harness) func(string) error {
			tok := h.linkFor(t, alice.Email)
			return func(pw string) error {
				return h.svc.ResetWithLink(t.Context(), LinkReset{Token: tok, NewPassword: pw, IP: clientIP})
			}
		}, ErrInvalidToken},
		{"grant", func(t *testing.T, h *harness) func(string) error {
			g := h.grantFor(t, byAlice)
			return func(pw string) error { return h.completeWith(t, g.Token, pw) }
		}, ErrInvalidToken},
	}
	for _, twoPhased := range []bool{false, true} {
		for _, r := range routes {
			name := r.name
			if twoPhased {
				name += ", two phases"
			}
			t.Run(name, func(t *testing.T) {
				h := newHarness(t, nil)
				if twoPhased {
					h.svc.passwords = &fakePasswords{store: h.store}
				}
				do := r.arrange(t, h)
				if err := do(newPassword); err != nil {
					t.Fatalf("first: %v", err)
				}
				h.clock.advance(time.Minute)
				before, mails, sessions := h.store.snapshot(), len(h.mail.all()), len(h.sessions.take())
				if err := do(newPassword); err != nil {
					t.Fatalf("repeat: %v; want its success", err)
				}
				after := h.store.snapshot()
				// The repeat is a request: only the per-IP window moved.
				before.Requests, after.Requests = nil, nil
				if !reflect.DeepEqual(before, after) {
					t.Error("the repeat changed the store")
				}
				if len(h.mail.all()) != mails || len(h.sessions.take()) != 0 || sessions != 1 {
					t.Error("the repeat sent mail or ended sessions again")
				}
				for _, secret := range []string{newPassword, fakeHash(newPassword)} {
					for _, rc := range h.store.receipts {
						if strings.Contains(rc.MAC+rc.Of, secret) {
							t.Error("a receipt holds the password")
						}
					}
				}
				if err := do("Another-Long-Passphrase-9"); !errors.Is(err, r.invalid) {
					t.Errorf("another password: %v; want %v", err, r.invalid)
				}
				h.clock.advance(retryWindow - time.Minute - time.Second)
				if err := do(newPassword); err != nil {
					t.Errorf("a second before the window ends: %v", err)
				}
				h.clock.advance(time.Second)
				if err := do(newPassword); !errors.Is(err, r.invalid) {
					t.Errorf("after the window: %v; want %v", err, r.invalid)
				}
			})
		}
	}
}

// A two-phase completion whose account changed leaves no receipt: a
// repeat is refused.
func TestNoReceiptWithoutSuccess(t *testing.T) {
	h, p := twoPhase(t)
	code := h.codeFor(t, byAlice)
	p.changeIt = true
	if err := h.guess(t, byAlice, code); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("account changed: %v; want ErrInvalidCode", err)
	}
	p.changeIt = false
	if len(h.store.receipts) != 0 {
		t.Error("a receipt was kept for a refused reset")
	}
	if err := h.guess(t, byAlice, code); !errors.Is(err, ErrNoCode) {
		t.Errorf("again: %v; want ErrNoCode", err)
	}
}
