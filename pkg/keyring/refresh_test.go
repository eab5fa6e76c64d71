package keyring_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/keyring"
)

func onClock(api *fakeSecrets, clk *apptest.Clock, log *apptest.LogBuffer) *keyring.Secret {
	s := keyring.FromSecret(api, arn)
	s.Now = clk.Now
	s.Log = slog.New(slog.NewTextHandler(log, nil))
	return s
}

// rotatedSecret is validSecret after passreset keys rotate: a new current
// key, the old one under previous, and the old one as the subject key.
func rotatedSecret() string {
	return `{"kid": "k3", "key": "` + nextKey + `", "previous": {"k1": "` + previousKey + `", "k2": "` + currentKey + `"}, "subject_key": "` + currentKey + `"}`
}

func wantCurrent(t *testing.T, s *keyring.Secret, id, secret, when string) {
	t.Helper()
	k, err := s.Current(context.Background())
	if err != nil || k.ID != id || string(k.Secret) != secret {
		t.Fatalf("Current() %s = %q, %v; want %q", when, k.ID, err, id)
	}
}

func wantCalls(t *testing.T, api *fakeSecrets, n int32, when string) {
	t.Helper()
	if got := api.calls.Load(); got != n {
		t.Fatalf("GetSecretValue calls %s = %d; want %d", when, got, n)
	}
}

func noKeyInLog(t *testing.T, log *apptest.LogBuffer) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(log.String(), k) {
			t.Errorf("log contains key material %q:\n%s", k, log)
		}
	}
}

// An instance that read the secret before a rotation hashes new codes with
// the new key once its ring is RefreshAfter old, and keeps the subject key.
func TestRotationPickedUpWithinRefreshInterval(t *testing.T) {
	for _, refresh := range []time.Duration{keyring.DefaultRefreshAfter, time.Minute} {
		t.Run(refresh.String(), func(t *testing.T) {
			ctx := context.Background()
			api := &fakeSecrets{secret: validSecret()}
			clk := apptest.NewClock()
			s := onClock(api, clk, &apptest.LogBuffer{})
			s.RefreshAfter = refresh

			wantCurrent(t, s, "k2", currentKey, "before the rotation")
			api.set(rotatedSecret())

			clk.Advance(refresh - time.Second)
			wantCurrent(t, s, "k2", currentKey, "a second before the refresh is due")
			wantCalls(t, api, 1, "before the refresh is due")

			clk.Advance(time.Second)
			wantCurrent(t, s, "k3", nextKey, "once the ring is RefreshAfter old")
			wantCalls(t, api, 2, "after one refresh")

			// Subjects are unchanged: limits and live codes carry on.
			if k, err := s.Subject(ctx); err != nil || string(k.Secret) != currentKey {
				t.Errorf("Subject() after the rotation = %q, %v; want the key subjects were derived with before", k.ID, err)
			}
			// A code issued before the rotation still verifies.
			if k, err := s.ByID(ctx, "k2"); err != nil || string(k.Secret) != currentKey {
				t.Errorf("ByID(\"k2\") after the rotation = %q, %v; want the retired key", k.ID, err)
			}

			clk.Advance(refresh - time.Second)
			wantCurrent(t, s, "k3", nextKey, "before the next refresh")
			wantCalls(t, api, 2, "before the next refresh is due")
		})
	}
}

func TestRefreshFailureKeepsKeys(t *testing.T) {
	tests := []struct {
		name       string
		fail, mend func(*fakeSecrets)
	}{
		{"secrets manager down",
			func(f *fakeSecrets) { f.down.Store(true) },
			func(f *fakeSecrets) { f.down.Store(false) }},
		{"secret edited into a short key",
			func(f *fakeSecrets) { f.set(`{"kid": "k3", "key": "` + shortKey + `"}`) },
			func(*fakeSecrets) {}},
		{"secret edited into a short subject key",
			func(f *fakeSecrets) {
				f.set(`{"kid": "k3", "key": "` + nextKey + `", "subject_key": "` + shortKey + `"}`)
			},
			func(*fakeSecrets) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeSecrets{secret: validSecret()}
			clk := apptest.NewClock()
			log := &apptest.LogBuffer{}
			s := onClock(api, clk, log)
			wantCurrent(t, s, "k2", currentKey, "at first")

			tt.fail(api)
			clk.Advance(keyring.DefaultRefreshAfter)
			wantCurrent(t, s, "k2", currentKey, "when the refresh fails")
			wantCalls(t, api, 2, "after the failed refresh")
			if !strings.Contains(log.String(), "not refreshed") {
				t.Errorf("log after a failed refresh = %q; want a warning", log)
			}
			noKeyInLog(t, log)

			// No call per use while it fails: one per MinFetchInterval.
			for range 10 {
				wantCurrent(t, s, "k2", currentKey, "while the refresh fails")
			}
			clk.Advance(keyring.DefaultMinFetchInterval - time.Second)
			wantCurrent(t, s, "k2", currentKey, "while the refresh fails")
			wantCalls(t, api, 2, "within MinFetchInterval of the failed refresh")

			tt.mend(api)
			api.set(rotatedSecret())
			clk.Advance(time.Second)
			wantCurrent(t, s, "k3", nextKey, "once the secret reads again")
			wantCalls(t, api, 3, "after the retry")
		})
	}
}

// A record hashed under a key this instance has not read yet makes it read
// the secret at once, but at most once per MinFetchInterval.
func TestUnknownKeyIDRefetches(t *testing.T) {
	ctx := context.Background()
	api := &fakeSecrets{secret: validSecret()}
	clk := apptest.NewClock()
	s := onClock(api, clk, &apptest.LogBuffer{})
	if _, err := s.ByID(ctx, "k2"); err != nil {
		t.Fatalf("ByID(\"k2\"): %v", err)
	}
	api.set(rotatedSecret())

	// The secret was read just now: no second read for it.
	if _, err := s.ByID(ctx, "k3"); err == nil {
		t.Fatal("ByID(\"k3\") right after the first read = nil error; want one")
	}
	wantCalls(t, api, 1, "for an unknown id right after the first read")

	clk.Advance(keyring.DefaultMinFetchInterval)
	k, err := s.ByID(ctx, "k3")
	if err != nil || string(k.Secret) != nextKey {
		t.Fatalf("ByID(\"k3\") once another instance wrote with it = %q, %v; want the new key", k.ID, err)
	}
	wantCalls(t, api, 2, "after the read for k3")
	wantCurrent(t, s, "k3", nextKey, "after the read for k3")

	// A flood of ids nobody wrote costs one read per MinFetchInterval.
	for round := range 3 {
		clk.Advance(keyring.DefaultMinFetchInterval)
		for i := range 100 {
			if _, err := s.ByID(ctx, fmt.Sprintf("bogus-%d", i)); err == nil {
				t.Fatalf("ByID(bogus) = nil error; want one")
			} else {
				noKeyIn(t, "ByID(bogus)", err)
			}
		}
		wantCalls(t, api, int32(3+round), "after a flood of unknown ids")
	}

	// Known ids never read the secret.
	clk.Advance(keyring.DefaultMinFetchInterval)
	for _, id := range []string{"k1", "k2", "k3"} {
		if _, err := s.ByID(ctx, id); err != nil {
			t.Errorf("ByID(%q): %v", id, err)
		}
	}
	wantCalls(t, api, 5, "after known ids")
}

// Every caller that finds the ring due for a refresh at once gets the new
// ring, and one read serves them all.
func TestRefreshOneFetchUnderConcurrency(t *testing.T) {
	for _, down := range []bool{false, true} {
		name, wantID, wantKey := "secret rotated", "k3", nextKey
		if down {
			name, wantID, wantKey = "secrets manager down", "k2", currentKey
		}
		t.Run(name, func(t *testing.T) {
			api := &fakeSecrets{secret: validSecret()}
			clk := apptest.NewClock()
			s := onClock(api, clk, &apptest.LogBuffer{})
			wantCurrent(t, s, "k2", currentKey, "at first")
			api.set(rotatedSecret())
			api.down.Store(down)
			clk.Advance(keyring.DefaultRefreshAfter)

			const n = 60
			var ready, done sync.WaitGroup
			start := make(chan struct{})
			errs := make(chan error, n)
			ready.Add(n)
			done.Add(n)
			for i := range n {
				go func() {
					defer done.Done()
					ready.Done()
					<-start // every goroutine asks at once
					ctx := context.Background()
					switch i % 3 {
					case 0:
						k, err := s.Current(ctx)
						if err == nil && (k.ID != wantID || string(k.Secret) != wantKey) {
							t.Errorf("concurrent Current() = %q; want %q", k.ID, wantID)
						}
						errs <- err
					case 1:
						k, err := s.Subject(ctx)
						if err == nil && string(k.Secret) != currentKey {
							t.Errorf("concurrent Subject() = %q, not the subject key", k.ID)
						}
						errs <- err
					default:
						_, err := s.ByID(ctx, wantID)
						errs <- err
					}
				}()
			}
			ready.Wait()
			close(start)
			done.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("concurrent use: %v", err)
				}
			}
			wantCalls(t, api, 2, "across concurrent uses of a ring due for refresh")
		})
	}
}
