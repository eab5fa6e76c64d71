package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/passreset/passreset/pkg/keyring"
)

// Key material used below. Every error is checked against each of them.
const (
	currentKey  = "current-key-material-0123456789abcdef"
	previousKey = "previous-key-material-0123456789abcdef"
	subjectKey  = "subject-key-material-0123456789abcdef"
	nextKey     = "next-key-material-0123456789abcdef0123"
	shortKey    = "short-key-material-0123"
)

var keys = []string{currentKey, previousKey, subjectKey, nextKey, shortKey}

func noKeyIn(t *testing.T, what string, err error) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(err.Error(), k) {
			t.Errorf("%s: error %q contains key material %q", what, err, k)
		}
	}
}

func TestStatic(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		secret []byte
		ok     bool
	}{
		{"32 bytes", "k1", bytes.Repeat([]byte{1}, keyring.MinKeyLength), true},
		{"64 bytes", "k1", bytes.Repeat([]byte{1}, 64), true},
		{"empty id", "", bytes.Repeat([]byte{1}, 32), false},
		{"31 bytes", "k1", []byte(shortKey + "01234567")[:31], false},
		{"short key", "k1", []byte(shortKey), false},
		{"nil key", "k1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.Static(tt.id, tt.secret)
			if (err == nil) != tt.ok {
				t.Fatalf("Static(%q, %d bytes) error = %v; want ok %v", tt.id, len(tt.secret), err, tt.ok)
			}
			if err != nil {
				noKeyIn(t, "Static", err)
				if r != nil {
					t.Errorf("Static(%q, %d bytes) = %v with an error; want nil", tt.id, len(tt.secret), r)
				}
				return
			}
			k, err := r.Current(context.Background())
			if err != nil || k.ID != tt.id || !bytes.Equal(k.Secret, tt.secret) {
				t.Errorf("Static(%q, key).Current() = %q, %v; want the key named %q", tt.id, k.ID, err, tt.id)
			}
			if k, err := r.ByID(context.Background(), tt.id); err != nil || k.ID != tt.id {
				t.Errorf("Static(%q, key).ByID(%q) = %q, %v; want the key", tt.id, tt.id, k.ID, err)
			}
			if _, err := r.ByID(context.Background(), "other"); err == nil {
				t.Errorf("Static(%q, key).ByID(\"other\") = nil error; want one", tt.id)
			}
			if k, err := r.Subject(context.Background()); err != nil || k.ID != keyring.SubjectKeyID || !bytes.Equal(k.Secret, tt.secret) {
				t.Errorf("Static(%q, key).Subject() = %q, %v; want the key, named %q", tt.id, k.ID, err, keyring.SubjectKeyID)
			}
		})
	}
}

func TestParse(t *testing.T) {
	ctx := context.Background()
	r, err := keyring.Parse([]byte(`{"kid": "k2", "key": "` + currentKey + `", "previous": {"k1": "` + previousKey + `"}}`))
	if err != nil {
		t.Fatalf("Parse(valid secret): %v", err)
	}
	cur, err := r.Current(ctx)
	if err != nil || cur.ID != "k2" || string(cur.Secret) != currentKey {
		t.Errorf("Current() = %q, %v; want k2 with the secret's key", cur.ID, err)
	}
	tests := []struct {
		id, want string
	}{
		{"k2", currentKey},
		{"k1", previousKey},
	}
	for _, tt := range tests {
		k, err := r.ByID(ctx, tt.id)
		if err != nil || k.ID != tt.id || string(k.Secret) != tt.want {
			t.Errorf("ByID(%q) = %q, %v; want the key %q of the secret", tt.id, k.ID, err, tt.id)
		}
	}
	if _, err := r.ByID(ctx, "k0"); err == nil {
		t.Errorf("ByID(\"k0\") = nil error; want one for a key not in the secret")
	}

	// "previous" naming the current id does not replace the current key.
	r, err = keyring.Parse([]byte(`{"kid": "k2", "key": "` + currentKey + `", "previous": {"k2": "` + previousKey + `"}}`))
	if err != nil {
		t.Fatalf("Parse(previous holds kid): %v", err)
	}
	if k, err := r.ByID(ctx, "k2"); err != nil || string(k.Secret) != currentKey {
		t.Errorf("ByID(\"k2\") with k2 also in previous = %v; want the current key", err)
	}
}

func TestParseSubjectKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name, secret, want string
	}{
		// What every deployment derived its subjects with before the
		// field existed.
		{"absent", `{"kid": "k2", "key": "` + currentKey + `"}`, currentKey},
		{"null", `{"kid": "k2", "key": "` + currentKey + `", "subject_key": null}`, currentKey},
		{"present", `{"kid": "k2", "key": "` + currentKey + `", "subject_key": "` + subjectKey + `"}`, subjectKey},
		{"with previous", `{"kid": "k3", "key": "` + nextKey + `", "previous": {"k2": "` + currentKey + `"}, "subject_key": "` + currentKey + `"}`, currentKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.Parse([]byte(tt.secret))
			if err != nil {
				t.Fatalf("Parse(%s): %v", tt.name, err)
			}
			k, err := r.Subject(ctx)
			if err != nil || k.ID != keyring.SubjectKeyID || string(k.Secret) != tt.want {
				t.Errorf("Parse(%s).Subject() = %q with %d bytes, %v; want %q with the key %.8s…", tt.name, k.ID, len(k.Secret), err, keyring.SubjectKeyID, tt.want)
			}
			// The subject key names; it never verifies a code.
			if _, err := r.ByID(ctx, keyring.SubjectKeyID); err == nil {
				t.Errorf("Parse(%s).ByID(%q) = nil error; want one", tt.name, keyring.SubjectKeyID)
			}
			if cur, err := r.Current(ctx); err != nil || cur.ID == keyring.SubjectKeyID || string(cur.Secret) == subjectKey {
				t.Errorf("Parse(%s).Current() = %q, %v; want the code key, not the subject key", tt.name, cur.ID, err)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, secret string
	}{
		{"empty", ``},
		{"not JSON", `kid=k2 key=` + currentKey},
		{"truncated JSON", `{"kid": "k2", "key": "` + currentKey},
		{"array", `["k2", "` + currentKey + `"]`},
		{"key not a string", `{"kid": "k2", "key": 12345678901234567890123456789012345}`},
		{"missing kid", `{"key": "` + currentKey + `"}`},
		{"empty kid", `{"kid": "", "key": "` + currentKey + `"}`},
		{"missing key", `{"kid": "k2"}`},
		{"short key", `{"kid": "k2", "key": "` + shortKey + `"}`},
		{"short previous key", `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k1": "` + shortKey + `"}}`},
		{"previous not an object", `{"kid": "k2", "key": "` + currentKey + `", "previous": ["` + previousKey + `"]}`},
		{"short subject key", `{"kid": "k2", "key": "` + currentKey + `", "subject_key": "` + shortKey + `"}`},
		{"empty subject key", `{"kid": "k2", "key": "` + currentKey + `", "subject_key": ""}`},
		{"subject key not a string", `{"kid": "k2", "key": "` + currentKey + `", "subject_key": ["` + subjectKey + `"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.Parse([]byte(tt.secret))
			if err == nil {
				t.Fatalf("Parse(%s) = %v, nil; want an error", tt.name, r)
			}
			noKeyIn(t, "Parse("+tt.name+")", err)
		})
	}
}

// fakeSecrets is a hand-written Secrets Manager: it counts calls, records
// the SecretId asked for, fails the first failures calls and every call
// while down is set, and answers the secret set last.
type fakeSecrets struct {
	secret   string
	failures int32
	down     atomic.Bool

	calls atomic.Int32
	mu    sync.Mutex
	ids   []string
}

var errUnavailable = errors.New("secrets manager unavailable")

func (f *fakeSecrets) SecretString(_ context.Context, id string) (string, error) {
	n := f.calls.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids = append(f.ids, id)
	if n <= f.failures || f.down.Load() {
		return "", errUnavailable
	}
	return f.secret, nil
}

// set replaces the secret, as PutSecretValue would.
func (f *fakeSecrets) set(secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secret = secret
}

const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:passreset-hmac-AbCdEf"

func validSecret() string {
	return `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k1": "` + previousKey + `"}}`
}

func TestFromSecretFetchesOnFirstUse(t *testing.T) {
	api := &fakeSecrets{secret: validSecret()}
	s := keyring.FromSecret(api, arn)
	if n := api.calls.Load(); n != 0 {
		t.Fatalf("FromSecret made %d GetSecretValue calls before any use; want 0", n)
	}
	k, err := s.Current(context.Background())
	if err != nil || k.ID != "k2" || string(k.Secret) != currentKey {
		t.Fatalf("Current() = %q, %v; want k2", k.ID, err)
	}
	if k, err := s.ByID(context.Background(), "k1"); err != nil || string(k.Secret) != previousKey {
		t.Errorf("ByID(\"k1\") = %q, %v; want the previous key", k.ID, err)
	}
	if _, err := s.ByID(context.Background(), "k0"); err == nil {
		t.Errorf("ByID(\"k0\") = nil error; want one")
	}
	if n := api.calls.Load(); n != 1 {
		t.Errorf("GetSecretValue calls after three uses = %d; want 1", n)
	}
	if len(api.ids) != 1 || api.ids[0] != arn {
		t.Errorf("GetSecretValue SecretId = %q; want [%q]", api.ids, arn)
	}
}

func TestFromSecretOneFetchUnderConcurrency(t *testing.T) {
	api := &fakeSecrets{secret: validSecret()}
	s := keyring.FromSecret(api, arn)
	const n = 50
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
			var err error
			if i%2 == 0 {
				_, err = s.Current(context.Background())
			} else {
				_, err = s.ByID(context.Background(), "k1")
			}
			errs <- err
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
	if got := api.calls.Load(); got != 1 {
		t.Errorf("GetSecretValue calls across %d concurrent Current/ByID = %d; want 1", n, got)
	}
}

func TestFromSecretRetriesAfterFailure(t *testing.T) {
	api := &fakeSecrets{secret: validSecret(), failures: 1}
	s := keyring.FromSecret(api, arn)
	_, err := s.Current(context.Background())
	if !errors.Is(err, errUnavailable) {
		t.Fatalf("Current() with Secrets Manager down = %v; want it to wrap %v", err, errUnavailable)
	}
	k, err := s.Current(context.Background())
	if err != nil || k.ID != "k2" {
		t.Fatalf("Current() after the outage = %q, %v; want k2", k.ID, err)
	}
	if got := api.calls.Load(); got != 2 {
		t.Errorf("GetSecretValue calls = %d; want 2 (one failed, one retried)", got)
	}
	for i, id := range api.ids {
		if id != arn {
			t.Errorf("call %d SecretId = %q; want %q", i, id, arn)
		}
	}
}

func TestFromSecretBadSecret(t *testing.T) {
	tests := []struct {
		name, secret string
	}{
		{"short key", `{"kid": "k2", "key": "` + shortKey + `"}`},
		{"not JSON", `key=` + currentKey},
		{"short previous key", `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k1": "` + shortKey + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeSecrets{secret: tt.secret}
			s := keyring.FromSecret(api, arn)
			_, err := s.Current(context.Background())
			if err == nil {
				t.Fatalf("Current() with a %s secret = nil error; want one", tt.name)
			}
			noKeyIn(t, "Current("+tt.name+")", err)
			_, err = s.ByID(context.Background(), "k2")
			if err == nil {
				t.Fatalf("ByID() with a %s secret = nil error; want one", tt.name)
			}
			noKeyIn(t, "ByID("+tt.name+")", err)
			if got := api.calls.Load(); got != 2 {
				t.Errorf("GetSecretValue calls = %d; want 2 (a bad secret is not kept)", got)
			}
		})
	}
}
