package reset

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/metrics"
)

// Ending the account's sessions after a completed reset (Deps.Sessions).
// checkPasswordSet holds every row of TestResetWithCode and
// TestResetWithLink to it: once, with the account's id, after a completed
// reset, and never after a refused one. These tests add what a failing
// sessions store does, and a service without one.

var errSessionsDown = errors.New("sessions table: service unavailable")

// completeReset is a completed reset of alice's password by each channel,
// on ctx, and what the reset's secret was, for the log checks.
var completeReset = []struct {
	name  string
	reset func(t *testing.T, h *harness, ctx context.Context) (secret string, err error)
}{
	{"code", func(t *testing.T, h *harness, ctx context.Context) (string, error) {
		code := h.codeFor(t, byAlice)
		return string(code), h.guessOn(ctx, byAlice, code, newPassword)
	}},
	{"link", func(t *testing.T, h *harness, ctx context.Context) (string, error) {
		tok := h.linkFor(t, alice.Email)
		return string(tok), h.resetLinkOn(ctx, tok, newPassword)
	}},
}

// TestEndSessionsFailureIsNoFailedReset: the password is changed and the
// owner told, so a sessions store that fails answers the reset as done;
// the failure is logged, with no secret, and counted once.
func TestEndSessionsFailureIsNoFailedReset(t *testing.T) {
	for _, tt := range completeReset {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.sessions.failing(errSessionsDown)
			rec := &metrics.Recorder{}
			secret, err := tt.reset(t, h, metrics.NewContext(t.Context(), rec))
			if err != nil {
				t.Fatalf("reset with the sessions store down: got %v, want nil", err)
			}
			if got := h.store.account(alice.ID).PasswordHash; got != fakeHash(newPassword) {
				t.Errorf("password hash: got %q, want the new password's", got)
			}
			if got := h.sessions.take(); !slices.Equal(got, []string{alice.ID}) {
				t.Errorf("sessions ended of %q, want alice's once", got)
			}
			if got := ofKind(h.mail.all(), "changed"); len(got) != 1 {
				t.Errorf("password-changed mails: got %+v, want one: a failed revocation does not stop the notice", got)
			}
			got := countsOf(t, rec)
			if got[metrics.SessionRevocationFailed] != 1 || got[metrics.ResetCompleted+"/"+metrics.Channel+"="+channelOf(tt.name)] != 1 {
				t.Errorf("counts: got %v, want SessionRevocationFailed 1 beside ResetCompleted", got)
			}
			log := h.log.String()
			if !strings.Contains(log, "end sessions after reset") || !strings.Contains(log, errSessionsDown.Error()) {
				t.Errorf("log: got\n%s\nwant the failed revocation and its error", log)
			}
			for _, s := range []string{alice.Email, secret, newPassword, fakeHash(newPassword)} {
				if strings.Contains(log, s) {
					t.Errorf("log holds %q:\n%s", s, log)
				}
			}
		})
	}
}

func channelOf(name string) string {
	if name == "code" {
		return channelCode
	}
	return channelLink
}

// TestEndSessionsCountsNothingWhenDone: a revocation that works writes no
// metric and no log line of its own.
func TestEndSessionsCountsNothingWhenDone(t *testing.T) {
	for _, tt := range completeReset {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			rec := &metrics.Recorder{}
			if _, err := tt.reset(t, h, metrics.NewContext(t.Context(), rec)); err != nil {
				t.Fatal(err)
			}
			if got := countsOf(t, rec); got[metrics.SessionRevocationFailed] != 0 {
				t.Errorf("counts: got %v, want no SessionRevocationFailed", got)
			}
			if log := h.log.String(); strings.Contains(log, "end sessions") {
				t.Errorf("log: got\n%s\nwant nothing of the sessions", log)
			}
		})
	}
}

// TestNoSessionsStore: without Deps.Sessions a reset completes as before,
// the session_version bump alone.
func TestNoSessionsStore(t *testing.T) {
	for _, tt := range completeReset {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.svc.sessions = nil
			if _, err := tt.reset(t, h, t.Context()); err != nil {
				t.Fatalf("reset without a sessions store: %v", err)
			}
			if got := h.store.account(alice.ID); got.PasswordHash != fakeHash(newPassword) || got.SessionVersion != alice.SessionVersion+1 {
				t.Errorf("alice: got %+v, want the new password and session_version %d", got, alice.SessionVersion+1)
			}
			if got := h.sessions.take(); len(got) != 0 {
				t.Errorf("sessions ended of %q through a store the service does not have", got)
			}
		})
	}
}
