// Package keyring holds the HMAC keys one-time codes and account subjects
// are hashed with: a fixed key for local development, or a secret in AWS
// Secrets Manager, fetched on first use and read again every few minutes,
// so a rotation reaches every instance without a redeploy.
//
// The secret is JSON:
//
//	{"kid": "k2", "key": "<at least 32 characters>",
//	 "previous": {"k1": "<old key>"},
//	 "subject_key": "<at least 32 characters>"}
//
// New records are hashed with "key" and carry "kid"; records written under
// a key listed in "previous" still verify until they expire, so the key can
// rotate without cutting off codes in flight. The names of an account's
// records and counters (its subject) are derived with "subject_key", which
// a rotation leaves alone, so a rotation restarts no limit and loses no
// code. Without "subject_key" the subject key is "key": that is what every
// deployment derived its subjects with before the field existed, so adding
// the field with the old key's value (passreset keys rotate does) keeps
// every subject.
package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/passreset/passreset/pkg/reset"
)

// MinKeyLength is the shortest key accepted: 32 bytes, the HMAC-SHA256
// block's half, as RFC 2104 advises for the key.
const MinKeyLength = 32

// SubjectKeyID is the ID of every ring's subject key. A subject is stored
// as a hash with no key id beside it, so the ID only tells the subject key
// apart in logs and tests; ByID never returns the subject key.
const SubjectKeyID = "subject"

// Ring is a set of keys, one of them current, and the subject key.
type Ring struct {
	current reset.Key
	subject reset.Key
	byID    map[string]reset.Key
}

var _ reset.Keys = (*Ring)(nil)

// Static returns a ring of one key, for local development and tests. The
// key is also the subject key.
func Static(id string, secret []byte) (*Ring, error) {
	if id == "" {
		return nil, errors.New("key id is empty")
	}
	if len(secret) < MinKeyLength {
		return nil, fmt.Errorf("key %q is %d bytes; at least %d are needed", id, len(secret), MinKeyLength)
	}
	k := reset.Key{ID: id, Secret: secret}
	return &Ring{
		current: k,
		subject: reset.Key{ID: SubjectKeyID, Secret: secret},
		byID:    map[string]reset.Key{id: k},
	}, nil
}

// Current returns the key new records are hashed with.
func (r *Ring) Current(context.Context) (reset.Key, error) { return r.current, nil }

// Subject returns the key subjects are derived with.
func (r *Ring) Subject(context.Context) (reset.Key, error) { return r.subject, nil }

// ByID returns the key named id.
func (r *Ring) ByID(_ context.Context, id string) (reset.Key, error) {
	k, ok := r.byID[id]
	if !ok {
		return reset.Key{}, fmt.Errorf("no key %q in the ring", id)
	}
	return k, nil
}

// SecretsAPI reads a secret's string: pkg/keysecret's Reader over the
// Secrets Manager client. It names no SDK type, so that a function none of
// whose flows hashes with the key links no Secrets Manager client.
type SecretsAPI interface {
	SecretString(ctx context.Context, id string) (string, error)
}

// The timing of a Secret unless its fields say otherwise.
const (
	// DefaultRefreshAfter bounds how long an instance goes on hashing new
	// codes with a key that was rotated out.
	DefaultRefreshAfter = 5 * time.Minute
	// DefaultMinFetchInterval bounds the reads that are not on the
	// schedule: after a failed refresh, and for a key id the ring does not
	// know. Record key ids are read from the tokens table, not from a
	// request, but a flood of them must still not turn into a flood of
	// Secrets Manager calls.
	DefaultMinFetchInterval = 10 * time.Second
)

// Secret is a ring read from Secrets Manager on first use and again once it
// is RefreshAfter old. Nothing is fetched at cold start, so an instance
// that only answers bad requests never pays for the call.
//
// A failed first read is an error, tried again on the next use: there are
// no keys to serve. A failed later read (Secrets Manager down, a secret
// edited into something unreadable) keeps the ring already held, logs a
// warning and is tried again after MinFetchInterval: the held keys are
// what the instance hashed with a minute ago and still verify every code it
// issued, whereas failing would stop every reset for the length of an AWS
// outage. The cost is that a rotation reaches this instance only once
// Secrets Manager answers again.
//
// A key id the ring does not know (a record hashed under a new key by an
// instance that read the secret first) makes one read at once, at most one
// per MinFetchInterval. Reads are made one at a time under the mutex, so
// callers arriving during a read wait for it instead of making their own.
//
// Set the exported fields, if at all, before first use.
type Secret struct {
	api SecretsAPI
	arn string

	// RefreshAfter is the age at which the ring is read again.
	RefreshAfter time.Duration
	// MinFetchInterval is the least time between two reads after the
	// first: it spaces the retries of a failed refresh and the reads for
	// unknown key ids.
	MinFetchInterval time.Duration
	// Now is the clock; tests move a fake one instead of sleeping.
	Now func() time.Time
	// Log receives the warning of a failed refresh. FromSecret sets
	// slog.Default(), so the warning is never lost; give it the
	// function's logger to have it in the function's JSON log.
	Log *slog.Logger

	mu      sync.Mutex
	ring    *Ring
	fetched time.Time // when ring was read
	tried   time.Time // when a read was last tried, successful or not
}

var _ reset.Keys = (*Secret)(nil)

// FromSecret returns a ring backed by the secret arn, with the default
// timing, the wall clock and slog.Default().
func FromSecret(api SecretsAPI, arn string) *Secret {
	return &Secret{
		api:              api,
		arn:              arn,
		RefreshAfter:     DefaultRefreshAfter,
		MinFetchInterval: DefaultMinFetchInterval,
		Now:              time.Now,
		Log:              slog.Default(),
	}
}

// Current returns the secret's current key.
func (s *Secret) Current(ctx context.Context) (reset.Key, error) {
	r, err := s.load(ctx, false)
	if err != nil {
		return reset.Key{}, err
	}
	return r.current, nil
}

// Subject returns the secret's subject key.
func (s *Secret) Subject(ctx context.Context) (reset.Key, error) {
	r, err := s.load(ctx, false)
	if err != nil {
		return reset.Key{}, err
	}
	return r.subject, nil
}

// ByID returns the secret's key named id. An id the ring does not know
// makes the secret be read again first, unless it was read or tried within
// MinFetchInterval.
func (s *Secret) ByID(ctx context.Context, id string) (reset.Key, error) {
	r, err := s.load(ctx, false)
	if err != nil {
		return reset.Key{}, err
	}
	if k, ok := r.byID[id]; ok {
		return k, nil
	}
	// Another instance may have read a rotated secret and hashed a code
	// under the new key before this one's refresh is due.
	if r, err = s.load(ctx, true); err != nil {
		return reset.Key{}, err
	}
	return r.ByID(ctx, id)
}

// load returns the ring, reading the secret when there is none yet, when
// the one held is RefreshAfter old, or when force is set; the last two only
// when no read was tried in the last MinFetchInterval.
func (s *Secret) load(ctx context.Context, force bool) (*Ring, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	if s.ring == nil {
		ring, err := s.fetch(ctx)
		if err != nil {
			return nil, err
		}
		s.ring, s.fetched, s.tried = ring, now, now
		return ring, nil
	}
	due := force || now.Sub(s.fetched) >= s.RefreshAfter
	if !due || now.Sub(s.tried) < s.MinFetchInterval {
		return s.ring, nil
	}
	s.tried = now
	ring, err := s.fetch(ctx)
	if err != nil {
		// Not an error for the caller: see Secret for why the held keys
		// stay in use.
		s.Log.WarnContext(ctx, "HMAC key secret not refreshed; keeping the keys read earlier",
			"secret", s.arn, "read_at", s.fetched, "error", err)
		return s.ring, nil
	}
	s.ring, s.fetched = ring, now
	return ring, nil
}

// fetch reads and parses the secret.
func (s *Secret) fetch(ctx context.Context) (*Ring, error) {
	secret, err := s.api.SecretString(ctx, s.arn)
	if err != nil {
		return nil, fmt.Errorf("read HMAC key secret: %w", err)
	}
	ring, err := Parse([]byte(secret))
	if err != nil {
		// The message names the field, never the key.
		return nil, fmt.Errorf("HMAC key secret %s: %w", s.arn, err)
	}
	return ring, nil
}

// document is the secret's JSON.
type document struct {
	KID      string            `json:"kid"`
	Key      string            `json:"key"`
	Previous map[string]string `json:"previous"`
	// SubjectKey is nil when the field is absent or null: the subject key
	// is then Key.
	SubjectKey *string `json:"subject_key"`
}

// Parse reads a ring from the secret's JSON.
func Parse(secret []byte) (*Ring, error) {
	var doc document
	if err := json.Unmarshal(secret, &doc); err != nil {
		return nil, errors.New(`not JSON of the form {"kid": ..., "key": ...}`)
	}
	ring, err := Static(doc.KID, []byte(doc.Key))
	if err != nil {
		return nil, err
	}
	if doc.SubjectKey != nil {
		if len(*doc.SubjectKey) < MinKeyLength {
			return nil, fmt.Errorf("subject_key is shorter than %d bytes", MinKeyLength)
		}
		ring.subject = reset.Key{ID: SubjectKeyID, Secret: []byte(*doc.SubjectKey)}
	}
	for id, key := range doc.Previous {
		if len(key) < MinKeyLength {
			return nil, fmt.Errorf("previous key %q is shorter than %d bytes", id, MinKeyLength)
		}
		if id != doc.KID {
			ring.byID[id] = reset.Key{ID: id, Secret: []byte(key)}
		}
	}
	return ring, nil
}
