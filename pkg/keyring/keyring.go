// Package keyring holds the HMAC keys one-time codes are hashed with: a
// fixed key for local development, or a secret in AWS Secrets Manager,
// fetched once on first use and kept for the life of the instance.
//
// The secret is JSON: {"kid": "k2", "key": "<at least 32 characters>",
// "previous": {"k1": "<old key>"}}. New records are hashed with "key" and
// carry "kid"; records written under a key listed in "previous" still
// verify until they expire, so the key can rotate without cutting off
// codes in flight.
package keyring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/passreset/passreset/pkg/reset"
)

// MinKeyLength is the shortest key accepted: 32 bytes, the HMAC-SHA256
// block's half, as RFC 2104 advises for the key.
const MinKeyLength = 32

// Ring is a set of keys, one of them current.
type Ring struct {
	current reset.Key
	byID    map[string]reset.Key
}

var _ reset.Keys = (*Ring)(nil)

// Static returns a ring of one key, for local development and tests.
func Static(id string, secret []byte) (*Ring, error) {
	if id == "" {
		return nil, errors.New("key id is empty")
	}
	if len(secret) < MinKeyLength {
		return nil, fmt.Errorf("key %q is %d bytes; at least %d are needed", id, len(secret), MinKeyLength)
	}
	k := reset.Key{ID: id, Secret: secret}
	return &Ring{current: k, byID: map[string]reset.Key{id: k}}, nil
}

// Current returns the key new records are hashed with.
func (r *Ring) Current(context.Context) (reset.Key, error) { return r.current, nil }

// Subject returns the key subjects are derived with.
func (r *Ring) Subject(context.Context) (reset.Key, error) { return r.current, nil }

// ByID returns the key named id.
func (r *Ring) ByID(_ context.Context, id string) (reset.Key, error) {
	k, ok := r.byID[id]
	if !ok {
		return reset.Key{}, fmt.Errorf("no key %q in the ring", id)
	}
	return k, nil
}

// SecretsAPI is the part of the Secrets Manager client the ring calls.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Secret is a ring read from Secrets Manager on first use. Nothing is
// fetched at cold start, so an instance that only answers bad requests
// never pays for the call; a failed fetch is tried again on the next use.
type Secret struct {
	api SecretsAPI
	arn string

	mu   sync.Mutex
	ring *Ring
}

var _ reset.Keys = (*Secret)(nil)

// FromSecret returns a ring backed by the secret arn.
func FromSecret(api SecretsAPI, arn string) *Secret {
	return &Secret{api: api, arn: arn}
}

// Current returns the secret's current key.
func (s *Secret) Current(ctx context.Context) (reset.Key, error) {
	r, err := s.load(ctx)
	if err != nil {
		return reset.Key{}, err
	}
	return r.current, nil
}

// Subject returns the secret's subject key.
func (s *Secret) Subject(ctx context.Context) (reset.Key, error) {
	r, err := s.load(ctx)
	if err != nil {
		return reset.Key{}, err
	}
	return r.Subject(ctx)
}

// ByID returns the secret's key named id.
func (s *Secret) ByID(ctx context.Context, id string) (reset.Key, error) {
	r, err := s.load(ctx)
	if err != nil {
		return reset.Key{}, err
	}
	return r.ByID(ctx, id)
}

func (s *Secret) load(ctx context.Context) (*Ring, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ring != nil {
		return s.ring, nil
	}
	out, err := s.api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(s.arn)})
	if err != nil {
		return nil, fmt.Errorf("read HMAC key secret: %w", err)
	}
	ring, err := Parse([]byte(aws.ToString(out.SecretString)))
	if err != nil {
		// The message names the field, never the key.
		return nil, fmt.Errorf("HMAC key secret %s: %w", s.arn, err)
	}
	s.ring = ring
	return ring, nil
}

// Parse reads a ring from the secret's JSON.
func Parse(secret []byte) (*Ring, error) {
	var doc struct {
		KID      string            `json:"kid"`
		Key      string            `json:"key"`
		Previous map[string]string `json:"previous"`
	}
	if err := json.Unmarshal(secret, &doc); err != nil {
		return nil, errors.New(`not JSON of the form {"kid": ..., "key": ...}`)
	}
	ring, err := Static(doc.KID, []byte(doc.Key))
	if err != nil {
		return nil, err
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
