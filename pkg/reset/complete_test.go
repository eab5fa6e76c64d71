package reset

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// The Store's claims, as pkg/dynamo's conditions make them (claims.go
// there): a claim holds while it has not run out, and only the live,
// latest, unclaimed code or link can be claimed.

func (s *memStore) claimed(id string, now time.Time) bool {
	until, ok := s.claims[id]
	return ok && until.After(now)
}

func (s *memStore) ClaimCode(ctx context.Context, rec CodeRecord, now time.Time, claimFor time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ClaimCode"); err != nil {
		return err
	}
	n, o := s.names[rec.Subject], s.owners[rec.Owner]
	if n == nil || n.code == nil || n.code.ID != rec.ID || !n.code.ExpiresAt.After(now) ||
		o == nil || o.latest != rec.ID || s.claimed(rec.ID, now) {
		return ErrInvalidCode
	}
	s.claims[rec.ID] = now.Add(claimFor)
	return nil
}

func (s *memStore) FinishCode(ctx context.Context, rec CodeRecord, done Receipt, limit GuessLimit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FinishCode"); err != nil {
		return err
	}
	n, o := s.names[rec.Subject], s.owners[rec.Owner]
	if n == nil || n.code == nil || n.code.ID != rec.ID {
		return nil // gone or replaced: nothing to finish
	}
	n.code = nil
	delete(s.claims, rec.ID)
	s.keep(done)
	n.failures.undo()
	if o != nil {
		o.failures.undo()
	}
	return nil
}

func (s *memStore) ReleaseCode(ctx context.Context, rec CodeRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ReleaseCode"); err != nil {
		return err
	}
	delete(s.claims, rec.ID)
	return nil
}

func (s *memStore) ClaimLink(ctx context.Context, rec LinkRecord, now time.Time, claimFor time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ClaimLink"); err != nil {
		return err
	}
	stored, ok := s.links[rec.Hash]
	o := s.owners[rec.Owner]
	if !ok || !stored.ExpiresAt.After(now) || o == nil || o.latest != string(rec.Hash) || s.claimed(string(rec.Hash), now) {
		return ErrInvalidToken
	}
	s.claims[string(rec.Hash)] = now.Add(claimFor)
	return nil
}

func (s *memStore) FinishLink(ctx context.Context, rec LinkRecord, done Receipt) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FinishLink"); err != nil {
		return err
	}
	delete(s.links, rec.Hash)
	s.keep(done)
	delete(s.claims, string(rec.Hash))
	return nil
}

func (s *memStore) ReleaseLink(ctx context.Context, rec LinkRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ReleaseLink"); err != nil {
		return err
	}
	delete(s.claims, string(rec.Hash))
	return nil
}

// liveCode is the one code the store holds.
func (s *memStore) liveCode(t *testing.T) CodeRecord {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.names {
		if n.code != nil {
			return *n.code
		}
	}
	t.Fatal("no live code")
	return CodeRecord{}
}

// fakePasswords is a directory that sets passwords itself (Cognito, a
// hook), over the memStore's accounts: on condition of the version, as
// such a directory must.
type fakePasswords struct {
	store *memStore

	mu       sync.Mutex
	err      error // set fails with it
	reject   bool  // the directory's own policy refuses the password
	changeIt bool  // the account changes just before the set
	plains   []string
}

func (p *fakePasswords) SetPassword(ctx context.Context, acct Account, version int64, plain string, hash func() (string, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.plains = append(p.plains, plain)
	switch {
	case p.err != nil:
		return p.err
	case p.reject:
		return &password.Rejection{Reason: "Password does not meet the account's password requirements.", Rule: "Provider"}
	}
	h, err := hash()
	if err != nil {
		return err
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if p.changeIt {
		p.store.setPassword(acct.ID, "changed elsewhere")
	}
	if !p.store.passwordSettable(acct, version) {
		return ErrAccountChanged
	}
	p.store.setPassword(acct.ID, h)
	return nil
}

// twoPhase is a harness whose directory sets passwords itself.
func twoPhase(t *testing.T) (*harness, *fakePasswords) {
	h := newHarness(t, nil)
	p := &fakePasswords{store: h.store}
	h.svc.passwords = p
	return h, p
}

func TestTwoPhaseCodeReset(t *testing.T) {
	h, p := twoPhase(t)
	code := h.codeFor(t, byAlice)
	h.store.takeCalls()
	if err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP}); err != nil {
		t.Fatalf("ResetWithCode: %v", err)
	}
	if got := h.store.accounts[alice.ID].PasswordHash; got != fakeHash(newPassword) {
		t.Errorf("password hash = %q; want the new one, set by the directory", got)
	}
	calls := h.store.takeCalls()
	for _, want := range []string{"ClaimCode", "FinishCode"} {
		if !slices.Contains(calls, want) {
			t.Errorf("calls %v; want %s", calls, want)
		}
	}
	if slices.Contains(calls, "ConsumeCode") {
		t.Errorf("calls %v; the store's transaction cannot set this directory's password", calls)
	}
	if len(p.plains) != 1 {
		t.Errorf("SetPassword called %d times; want 1", len(p.plains))
	}
	err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword + "x", IP: clientIP})
	if !errors.Is(err, ErrNoCode) {
		t.Errorf("the same code again: %v; want ErrNoCode, it is used", err)
	}
}

// Of 30 racing right guesses, one sets the password.
func TestTwoPhaseRacingRightGuesses(t *testing.T) {
	h, p := twoPhase(t)
	code := h.codeFor(t, byAlice)
	var wg sync.WaitGroup
	results := make(chan error, 30)
	// Each its own password: the same one again would be a repeat of the
	// winner's request, answered with its success (retry.go).
	for i := range 30 {
		wg.Go(func() {
			results <- h.svc.ResetWithCode(context.Background(), CodeReset{Account: byAlice, Code: code, NewPassword: fmt.Sprintf("%s-%d", newPassword, i), IP: clientIP})
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrInvalidCode) && !errors.Is(err, ErrNoCode):
			// A loser that counts its guess after the winner finished
			// finds no code at all.
			t.Errorf("a racing guess: %v; want nil, ErrInvalidCode or ErrNoCode", err)
		}
	}
	if ok != 1 || len(p.plains) != 1 {
		t.Errorf("%d successes, %d passwords set; want 1 and 1", ok, len(p.plains))
	}
}

// The directory fails: the claim is released, and the same code works.
func TestTwoPhaseDirectoryFailsReleases(t *testing.T) {
	h, p := twoPhase(t)
	code := h.codeFor(t, byAlice)
	p.err = errors.New("hook unreachable")
	err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
	if err == nil || errors.Is(err, ErrInvalidCode) {
		t.Fatalf("ResetWithCode with the directory down: %v; want the dependency's error", err)
	}
	if !slices.Contains(h.store.takeCalls(), "ReleaseCode") {
		t.Error("the claim was not released")
	}
	p.err = nil
	if err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP}); err != nil {
		t.Errorf("the same code once the directory is back: %v; want success", err)
	}
}

// The directory's own policy refuses: the contract's rejection, and the
// code is not used up.
func TestTwoPhaseDirectoryRejects(t *testing.T) {
	h, p := twoPhase(t)
	code := h.codeFor(t, byAlice)
	p.reject = true
	err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
	var rejected *password.Rejection
	if !errors.As(err, &rejected) {
		t.Fatalf("ResetWithCode refused by the directory: %v; want a *password.Rejection", err)
	}
	p.reject = false
	if err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword + "!", IP: clientIP}); err != nil {
		t.Errorf("the same code with another password: %v; want success", err)
	}
}

// The account changes between the read and the set: the code dies.
func TestTwoPhaseAccountChangedKillsTheCode(t *testing.T) {
	h, p := twoPhase(t)
	code := h.codeFor(t, byAlice)
	p.changeIt = true
	err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
	if !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("ResetWithCode on a changed account: %v; want ErrInvalidCode", err)
	}
	if got := h.store.accounts[alice.ID].PasswordHash; got != "changed elsewhere" {
		t.Errorf("password hash = %q; want the other change's", got)
	}
	p.changeIt = false
	h.clock.advance(claimFor + time.Second)
	err = h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
	if !errors.Is(err, ErrNoCode) {
		t.Errorf("the code again: %v; want ErrNoCode, it died", err)
	}
}

// A function that claimed and stopped before setting the password: the
// code is held until the claim runs out, then works, the same code.
func TestTwoPhaseStoppedAfterClaim(t *testing.T) {
	h, _ := twoPhase(t)
	code := h.codeFor(t, byAlice)
	rec := h.store.liveCode(t)
	if err := h.store.ClaimCode(t.Context(), rec, h.clock.Now(), claimFor); err != nil {
		t.Fatal(err)
	}
	err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
	if !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("while claimed: %v; want ErrInvalidCode", err)
	}
	h.clock.advance(claimFor + time.Second)
	if err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP}); err != nil {
		t.Errorf("once the claim ran out: %v; want success", err)
	}
}

// A function that set the password and stopped before finishing: the
// password is changed for good, and the code never works again.
func TestTwoPhaseStoppedAfterSet(t *testing.T) {
	h, _ := twoPhase(t)
	code := h.codeFor(t, byAlice)
	rec := h.store.liveCode(t)
	if err := h.store.ClaimCode(t.Context(), rec, h.clock.Now(), claimFor); err != nil {
		t.Fatal(err)
	}
	h.store.mu.Lock()
	h.store.setPassword(alice.ID, fakeHash("the first attempt's password"))
	h.store.mu.Unlock()
	h.clock.advance(claimFor + time.Second)
	err := h.svc.ResetWithCode(t.Context(), CodeReset{Account: byAlice, Code: code, NewPassword: newPassword, IP: clientIP})
	if !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("the code after a set that did not finish: %v; want ErrInvalidCode", err)
	}
	if got := h.store.accounts[alice.ID].PasswordHash; got != fakeHash("the first attempt's password") {
		t.Errorf("password hash = %q; want the first attempt's", got)
	}
}

func TestTwoPhaseLinkReset(t *testing.T) {
	h, p := twoPhase(t)
	token := h.linkFor(t, alice.Email)
	var wg sync.WaitGroup
	results := make(chan error, 30)
	for i := range 30 {
		wg.Go(func() {
			results <- h.svc.ResetWithLink(context.Background(), LinkReset{Token: token, NewPassword: fmt.Sprintf("%s-%d", newPassword, i), IP: clientIP})
		})
	}
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrInvalidToken):
			t.Errorf("a racing link reset: %v; want nil or ErrInvalidToken", err)
		}
	}
	if ok != 1 || len(p.plains) != 1 {
		t.Errorf("%d successes, %d passwords set; want 1 and 1", ok, len(p.plains))
	}
	if got := h.store.accounts[alice.ID].PasswordHash; got != fakeHash(p.plains[0]) {
		t.Errorf("password hash = %q; want the winner's", got)
	}
	p.err = errors.New("hook unreachable")
	h.clock.advance(2 * time.Minute) // past the minimum interval between sends
	token = h.linkFor(t, alice.Email)
	if err := h.svc.ResetWithLink(t.Context(), LinkReset{Token: token, NewPassword: newPassword + "2", IP: clientIP}); err == nil {
		t.Fatal("link reset with the directory down: success; want its error")
	}
	p.err = nil
	if err := h.svc.ResetWithLink(t.Context(), LinkReset{Token: token, NewPassword: newPassword + "2", IP: clientIP}); err != nil {
		t.Errorf("the same link once the directory is back: %v; want success", err)
	}
}
