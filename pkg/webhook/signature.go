package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The Standard Webhooks headers.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// Tolerance is how far a request's webhook-timestamp may be from the
// receiver's clock, either way, before Verify refuses it: the replay window
// the specification's libraries use. It also absorbs some clock skew.
const Tolerance = 5 * time.Minute

// secretPrefix marks a symmetric Standard Webhooks secret.
const secretPrefix = "whsec_"

// The key lengths the specification allows for HMAC-SHA256 secrets: "at
// least 24 bytes (192 bits, 512 maximum)".
const (
	minKeyLen = 24
	maxKeyLen = 64
)

// Why Verify refused a request. A receiver answers all of them with the
// same 401; they differ for its log.
var (
	// ErrMissingHeader: webhook-id, webhook-timestamp or webhook-signature
	// is absent or malformed.
	ErrMissingHeader = errors.New("webhook: missing or malformed signature headers")
	// ErrTimestamp: webhook-timestamp is more than Tolerance from now.
	ErrTimestamp = errors.New("webhook: timestamp outside the tolerance window")
	// ErrNoMatch: no v1 signature in webhook-signature matches any secret.
	ErrNoMatch = errors.New("webhook: no matching signature")
)

// Secret is a Standard Webhooks signing secret. Its String and LogValue
// never show the key, so one printed or logged by mistake leaks nothing.
type Secret struct {
	key []byte
}

// ParseSecret reads a secret written "whsec_<base64>", with a key of 24 to 64
// bytes as the specification asks. The error never repeats the value.
func ParseSecret(s string) (Secret, error) {
	encoded, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return Secret{}, fmt.Errorf("webhook: a secret is written %s<base64>", secretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return Secret{}, fmt.Errorf("webhook: a secret is written %s<base64>: the part after %s is not standard base64", secretPrefix, secretPrefix)
	}
	if len(key) < minKeyLen || len(key) > maxKeyLen {
		return Secret{}, fmt.Errorf("webhook: a secret's key is %d to %d bytes, this one is %d", minKeyLen, maxKeyLen, len(key))
	}
	return Secret{key: key}, nil
}

// String hides the key.
func (s Secret) String() string { return secretPrefix + "[redacted]" }

// GoString hides the key from %#v too.
func (s Secret) GoString() string { return s.String() }

// LogValue hides the key from slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// Sign returns the signature of one message, "v1,<base64 HMAC-SHA256>", over
// id, the timestamp in Unix seconds and body, joined by full stops.
func Sign(secret Secret, id string, timestamp time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(mac(secret, id, timestamp.Unix(), body))
}

func mac(secret Secret, id string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, secret.key)
	h.Write([]byte(id))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a request's Standard Webhooks headers against its raw body,
// as read from the wire (a body parsed and re-encoded no longer matches): the
// timestamp must be within Tolerance of now, and one of the space-separated
// v1 signatures must match one of secrets, so that either side can rotate
// its secret without downtime. It returns nil, or ErrMissingHeader,
// ErrTimestamp or ErrNoMatch.
func Verify(secrets []Secret, header http.Header, body []byte, now time.Time) error {
	id, ts, sigs := header.Get(HeaderID), header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	// The specification: the id must not contain a full stop, or one
	// signed content could be read as another id and timestamp.
	if id == "" || strings.Contains(id, ".") || sigs == "" {
		return ErrMissingHeader
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrMissingHeader
	}
	// Checked before the signature: a replayed request is refused however
	// well it is signed.
	if d := now.Sub(time.Unix(unix, 0)); d > Tolerance || d < -Tolerance {
		return ErrTimestamp
	}
	for _, secret := range secrets {
		want := mac(secret, id, unix, body)
		for _, versioned := range strings.Fields(sigs) {
			// "v1a" (asymmetric) and any later versions are for other
			// schemes: skipped, as the specification's libraries do.
			encoded, ok := strings.CutPrefix(versioned, "v1,")
			if !ok {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(encoded)
			if err != nil {
				continue
			}
			// Constant-time, so that the time taken does not tell a
			// forger how many leading bytes were right.
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrNoMatch
}
