package reset

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Support's decisions on the fakes: how it finds an account, and that the
// link it issues is an ordinary one, counted as the flows count it. Its
// store half (state, the kill) runs on DynamoDB Local in pkg/dynamo and
// cmd/passreset.

func TestSupportFind(t *testing.T) {
	h := newHarness(t, nil)
	// An account whose user name is another's id.
	carol := Account{ID: "u-carol", Email: "carol@example.test", Username: alice.ID, Active: true}
	h.store.accounts[carol.ID] = carol
	p := NewSupport(h.svc, nil, nil)
	for _, row := range []struct {
		name   string
		asked  string
		wantID string
		err    error
	}{
		{"an email", alice.Email, alice.ID, nil},
		{"an email, any case", "Alice@Example.TEST", alice.ID, nil},
		{"an id", bob.ID, bob.ID, nil},
		{"a user name", alice.Username, alice.ID, nil},
		{"an id that is another's user name", alice.ID, "", ErrAmbiguousAccount},
		{"an email two accounts share", twin1.Email, "", ErrAmbiguousAccount},
		{"an unknown email", "nobody@example.test", "", ErrUnknownAccount},
		{"an unknown id or name", "u-nobody", "", ErrUnknownAccount},
		{"a malformed email", "a@@b", "", ErrInvalidEmail},
		{"a name with a space", "two words", "", ErrUnknownAccount},
	} {
		t.Run(row.name, func(t *testing.T) {
			got, err := p.Find(context.Background(), row.asked)
			if !errors.Is(err, row.err) || got.ID != row.wantID {
				t.Errorf("Find(%q) = %q, %v; want %q, %v", row.asked, got.ID, err, row.wantID, row.err)
			}
		})
	}
}

func TestSupportSendLink(t *testing.T) {
	ctx := context.Background()

	t.Run("mailed, and it resets", func(t *testing.T) {
		h := newHarness(t, nil)
		p := NewSupport(h.svc, nil, nil)
		sent, err := p.SendLink(ctx, h.store.account(alice.ID), false)
		if err != nil {
			t.Fatal(err)
		}
		if sent.URL != "" {
			t.Error("a mailed link was returned too")
		}
		if len(h.mail.sent) != 1 || h.mail.sent[0].Kind != "link" || h.mail.sent[0].To != alice.Email {
			t.Fatalf("mails %+v, want one link to alice", h.mail.sent)
		}
		if want := t0.Add(testSettings().LinkTTL); !sent.ExpiresAt.Equal(want) {
			t.Errorf("expires %v, want %v", sent.ExpiresAt, want)
		}
		token := Token(strings.TrimPrefix(h.mail.sent[0].Link, linkBase))
		if err := h.svc.ResetWithLink(ctx, LinkReset{Token: token, NewPassword: newPassword, IP: clientIP}); err != nil {
			t.Fatalf("reset with the link: %v", err)
		}
	})

	t.Run("printed, not mailed, and it resets", func(t *testing.T) {
		h := newHarness(t, nil)
		p := NewSupport(h.svc, nil, nil)
		sent, err := p.SendLink(ctx, h.store.account(alice.ID), true)
		if err != nil {
			t.Fatal(err)
		}
		if len(h.mail.sent) != 0 {
			t.Errorf("mails %+v, want none", h.mail.sent)
		}
		token := Token(strings.TrimPrefix(sent.URL, linkBase))
		if err := h.svc.ResetWithLink(ctx, LinkReset{Token: token, NewPassword: newPassword, IP: clientIP}); err != nil {
			t.Fatalf("reset with the printed link: %v", err)
		}
	})

	t.Run("it kills the code the user asked for", func(t *testing.T) {
		h := newHarness(t, nil)
		code := h.requestCode(t, CodeRequest{Account: byAlice})
		h.clock.advance(testSettings().MinSendInterval)
		if _, err := NewSupport(h.svc, nil, nil).SendLink(ctx, h.store.account(alice.ID), true); err != nil {
			t.Fatal(err)
		}
		err := h.svc.ResetWithCode(ctx, CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
		if !errors.Is(err, ErrInvalidCode) {
			t.Errorf("the earlier code: %v, want ErrInvalidCode", err)
		}
	})

	t.Run("the email's send limits hold; the IP's is not counted", func(t *testing.T) {
		h := newHarness(t, nil)
		p := NewSupport(h.svc, nil, nil)
		if _, err := p.SendLink(ctx, h.store.account(alice.ID), false); err != nil {
			t.Fatal(err)
		}
		_, err := p.SendLink(ctx, h.store.account(alice.ID), true)
		var le *LimitError
		if !errors.As(err, &le) || !errors.Is(err, ErrRateLimited) {
			t.Errorf("a second link within the interval: %v, want a *LimitError with ErrRateLimited", err)
		}
		if n := len(h.store.snapshot().Requests); n != 0 {
			t.Errorf("%d per-IP counters written, want none", n)
		}
	})

	t.Run("an inactive account gets nothing", func(t *testing.T) {
		h := newHarness(t, nil)
		_, err := NewSupport(h.svc, nil, nil).SendLink(ctx, h.store.account(bob.ID), true)
		if !errors.Is(err, ErrInactiveAccount) {
			t.Errorf("got %v, want ErrInactiveAccount", err)
		}
		if n := len(h.store.snapshot().Links); n != 0 {
			t.Errorf("%d links stored, want none", n)
		}
	})
}

// fakeSupportStore is Support's store half as far as Compromised's order
// goes: an account with nothing live, and a count of the kills and marks.
type fakeSupportStore struct {
	kills, marks int
}

func (f *fakeSupportStore) RecoveryState(ctx context.Context, names []NameKey, owner string, limits StateLimits, now time.Time) (RecoveryState, error) {
	return RecoveryState{Names: make([]NameState, len(names))}, nil
}

func (f *fakeSupportStore) KillSecrets(ctx context.Context, names []NameKey, owner string, now time.Time) (Killed, error) {
	f.kills++
	return Killed{Latest: true}, nil
}

func (f *fakeSupportStore) MarkSupportLink(ctx context.Context, owner string, link TokenHash) error {
	f.marks++
	return nil
}

// A failed session end (a hook outage, a throttled global sign-out) is
// reported, and neither the kill nor the mail waits for it: on the
// back-ends with no session_version the kill is all that stops the
// outstanding codes and links.
func TestSupportCompromisedSessionsFail(t *testing.T) {
	h := newHarness(t, nil)
	down := errors.New("the hook is down")
	h.sessions.failing(down)
	store := &fakeSupportStore{}
	done, err := NewSupport(h.svc, store, nil).Compromised(context.Background(), h.store.account(alice.ID))
	if !errors.Is(err, down) {
		t.Errorf("error %v, want the sessions failure", err)
	}
	if done.SessionsEnded || !errors.Is(done.SessionsErr, down) {
		t.Errorf("sessions ended %v, error %v; want not ended and the failure", done.SessionsEnded, done.SessionsErr)
	}
	if store.kills != 1 {
		t.Errorf("%d kills, want 1", store.kills)
	}
	if len(h.mail.sent) != 1 || h.mail.sent[0].Kind != "link" || h.mail.sent[0].To != alice.Email {
		t.Fatalf("mails %+v, want one link to alice", h.mail.sent)
	}
	if done.Link.ExpiresAt.IsZero() || store.marks != 1 {
		t.Errorf("link %+v, %d marks; want the mailed link, marked", done.Link, store.marks)
	}
}
