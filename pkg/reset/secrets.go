package reset

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/big"
)

// redacted is what a secret prints, logs and marshals as, so a %v in an
// error, an attribute in a log line or a field in a JSON document cannot
// leak one.
const redacted = "[REDACTED]"

// Code is a one-time code as the user types it.
type Code string

func (Code) String() string               { return redacted }
func (Code) GoString() string             { return redacted }
func (Code) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Code) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the digits, for the one place that must show them: the mail.
func (c Code) Reveal() string { return string(c) }

// CodeHash is a code's HMAC-SHA256, the only form of a code that is stored.
type CodeHash string

func (CodeHash) String() string               { return redacted }
func (CodeHash) GoString() string             { return redacted }
func (CodeHash) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (CodeHash) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Token is a link token as it appears in the mailed URL.
type Token string

func (Token) String() string               { return redacted }
func (Token) GoString() string             { return redacted }
func (Token) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (Token) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// Reveal returns the token, for building the mailed link.
func (t Token) Reveal() string { return string(t) }

// TokenHash is a token's SHA-256, the only form of a token that is stored.
// A token carries 256 random bits, so a plain hash is enough to make a
// leaked table useless; codes, with only 20-33 bits, need a key.
type TokenHash string

func (TokenHash) String() string               { return redacted }
func (TokenHash) GoString() string             { return redacted }
func (TokenHash) LogValue() slog.Value         { return slog.StringValue(redacted) }
func (TokenHash) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// newCode draws n decimal digits. rand.Int rejects out-of-range draws, so
// every code is equally likely: no modulo bias, leading zeros included.
func newCode(random io.Reader, n int) (Code, error) {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
	v, err := rand.Int(random, limit)
	if err != nil {
		return "", fmt.Errorf("draw code: %w", err)
	}
	return Code(fmt.Sprintf("%0*d", n, v)), nil
}

// newToken draws 32 random bytes, hex-encoded as in seed 003.
func newToken(random io.Reader) (Token, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("draw token: %w", err)
	}
	return Token(hex.EncodeToString(b)), nil
}

// newID draws a 128-bit record id.
func newID(random io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", fmt.Errorf("draw id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// hashCode binds a code to its account and to the record it was issued in,
// so a code cannot be replayed against another account or a later record.
func hashCode(key Key, subject, recordID string, code Code) CodeHash {
	return CodeHash(mac(key, "code", subject, recordID, string(code)))
}

// hashToken is the stored form of a link token.
func hashToken(t Token) TokenHash {
	sum := sha256.Sum256([]byte(t))
	return TokenHash(hex.EncodeToString(sum[:]))
}

// hashGrant is the stored form of a grant (VerifyCode). A grant is kept
// as a link is, one that was never mailed; hashing it in its own domain
// keeps the two apart: a grant is no link token and a link token no
// grant, on either route.
func hashGrant(t Token) TokenHash {
	sum := sha256.Sum256([]byte("grant\x00" + string(t)))
	return TokenHash(hex.EncodeToString(sum[:]))
}

// validToken reports whether t has the shape of a token we issue, so a
// malformed one is refused without a lookup.
func validToken(t Token) bool {
	if len(t) != 64 {
		return false
	}
	for _, c := range []byte(t) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// deviceHash names a device without storing its User-Agent verbatim.
func deviceHash(userAgent string) string {
	sum := sha256.Sum256([]byte("device\x00" + userAgent))
	return hex.EncodeToString(sum[:16])
}

// mac is HMAC-SHA256 over NUL-separated parts, hex-encoded.
func mac(key Key, parts ...string) string {
	h := hmac.New(sha256.New, key.Secret)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
