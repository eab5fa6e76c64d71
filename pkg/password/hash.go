package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Algorithm names the stored-hash format.
type Algorithm string

const (
	// Argon2id stores a PHC string "$argon2id$v=19$m=...,t=...,p=...$salt$hash"
	// (RFC 9106). It is the contract's default.
	Argon2id Algorithm = "argon2id"
	// Bcrypt stores a "$2a$" string, for apps whose login checks bcrypt. Bcrypt
	// reads at most 72 bytes of a password, so Hash refuses longer ones.
	Bcrypt Algorithm = "bcrypt"
)

// Argon2Params are the argon2id cost parameters (RFC 9106, section 3.1).
type Argon2Params struct {
	Memory  uint32 // in KiB
	Time    uint32 // passes over the memory
	Threads uint8  // degree of parallelism
	SaltLen uint32 // in bytes
	KeyLen  uint32 // in bytes
}

// DefaultArgon2 is OWASP's minimum for argon2id: m=19 MiB (19456 KiB), t=2,
// p=1, with a 16-byte salt (RFC 9106's recommendation) and a 32-byte key. It
// costs about 20 MiB of memory per hash, which the Lambda's memory must allow.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// DefaultBcryptCost is the bcrypt cost Hash uses: 2^12 rounds. OWASP asks for
// at least 10 (bcrypt.DefaultCost); 12 is what Laravel and Rails use today.
// A reset hashes once, so the extra ~4x over cost 10 is paid rarely, while
// the stored hash resists offline guessing for as long as it lives.
const DefaultBcryptCost = 12

// bcryptMaxPasswordBytes is the most bcrypt reads of a password: it silently
// ignores the bytes after them, so we refuse longer passwords instead.
const bcryptMaxPasswordBytes = 72

// Bounds on what Verify accepts from a stored string. A hash in the table is
// data, not code: one with m=4 GiB or t=2^32 would otherwise let whoever wrote
// it exhaust the function's memory or time. Every value this package writes,
// and every sane value another writer uses, is far inside them.
const (
	maxEncodedLen   = 1024    // bytes of the whole stored string
	maxArgon2Memory = 1 << 20 // KiB, i.e. 1 GiB
	maxArgon2Time   = 100
	maxArgon2Thread = 64
	minArgon2Salt   = 8   // bytes; RFC 9106's minimum
	maxArgon2Salt   = 64  // bytes
	minArgon2Key    = 16  // bytes; a shorter tag would be guessable
	maxArgon2Key    = 128 // bytes
	maxBcryptCost   = 16  // 2^16 rounds: seconds, not days (bcrypt allows 31)
)

// ErrMalformedHash is returned, wrapped with the reason, by Verify when the
// stored string is not a hash it can check: an unknown format, a syntax error,
// or parameters outside the bounds above. Its message never holds the string.
var ErrMalformedHash = errors.New("malformed password hash")

// Hasher hashes new passwords in one stored format. Make one with NewHasher.
type Hasher struct {
	alg        Algorithm
	argon2     Argon2Params
	bcryptCost int
	// rand supplies argon2id salts. bcrypt takes its salt from crypto/rand
	// itself; golang.org/x/crypto/bcrypt offers no way to pass a reader.
	rand io.Reader
}

// NewHasher returns a Hasher for alg with DefaultArgon2 or DefaultBcryptCost
// and salts from crypto/rand. An unknown alg is an error naming it.
func NewHasher(alg Algorithm) (*Hasher, error) {
	switch alg {
	case Argon2id, Bcrypt:
		return &Hasher{alg: alg, argon2: DefaultArgon2, bcryptCost: DefaultBcryptCost, rand: rand.Reader}, nil
	default:
		return nil, fmt.Errorf("unknown password hash algorithm %q (want %q or %q)", alg, Argon2id, Bcrypt)
	}
}

// Hash returns the stored form of plain: a PHC string for Argon2id, a "$2a$"
// string for Bcrypt. It hashes every byte of plain; for Bcrypt a password over
// 72 bytes is an error, never a truncation (Policy.Check refuses it first).
func (h *Hasher) Hash(plain string) (string, error) {
	switch h.alg {
	case Argon2id:
		return h.hashArgon2id(plain)
	case Bcrypt:
		if len(plain) > bcryptMaxPasswordBytes {
			return "", fmt.Errorf("hash password: bcrypt: password is longer than %d bytes", bcryptMaxPasswordBytes)
		}
		b, err := bcrypt.GenerateFromPassword([]byte(plain), h.bcryptCost)
		if err != nil {
			return "", fmt.Errorf("hash password: %w", err)
		}
		return string(b), nil
	default:
		return "", fmt.Errorf("hash password: unknown algorithm %q", h.alg)
	}
}

func (h *Hasher) hashArgon2id(plain string) (string, error) {
	p := h.argon2
	salt := make([]byte, p.SaltLen)
	if _, err := io.ReadFull(h.rand, salt); err != nil {
		return "", fmt.Errorf("hash password: read salt: %w", err)
	}
	key := argon2.IDKey([]byte(plain), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	// The reference implementation's encoding (argon2/src/encoding.c in
	// P-H-C/phc-winner-argon2): parameters in the order m, t, p, and salt
	// and hash in standard base64 without padding.
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether plain is the password encoded was made from. It
// accepts both formats Hash writes, told apart by prefix ("$argon2id$",
// "$2a$", "$2b$", "$2y$"). A wrong password is (false, nil); a stored string
// it cannot check is an error wrapping ErrMalformedHash, never a panic.
//
// A password over 72 bytes never matches a bcrypt hash: bcrypt would compare
// only its first 72 bytes, and this package does not truncate.
func Verify(encoded, plain string) (bool, error) {
	if len(encoded) > maxEncodedLen {
		return false, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, maxEncodedLen)
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return verifyArgon2id(encoded, plain)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return verifyBcrypt(encoded, plain)
	default:
		return false, fmt.Errorf("%w: unknown format", ErrMalformedHash)
	}
}

func verifyArgon2id(encoded, plain string) (bool, error) {
	p, salt, key, err := decodeArgon2id(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(plain), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	// Constant-time, so the time taken does not tell an attacker how many
	// leading bytes of their guess's hash were right.
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// decodeArgon2id parses "$argon2id$v=19$m=M,t=T,p=P$salt$hash" as strictly as
// the reference decoder, and checks every parameter against the bounds above
// before anything is allocated from it.
func decodeArgon2id(encoded string) (Argon2Params, []byte, []byte, error) {
	var p Argon2Params
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != string(Argon2id) {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want 5 fields", ErrMalformedHash)
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want version %d", ErrMalformedHash, argon2.Version)
	}
	params := strings.Split(parts[3], ",")
	if len(params) != 3 {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want parameters m,t,p", ErrMalformedHash)
	}
	m, okM := decodeParam(params[0], "m=", maxArgon2Memory)
	t, okT := decodeParam(params[1], "t=", maxArgon2Time)
	threads, okP := decodeParam(params[2], "p=", maxArgon2Thread)
	if !okM || !okT || !okP {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want m<=%d, 1<=t<=%d, 1<=p<=%d",
			ErrMalformedHash, maxArgon2Memory, maxArgon2Time, maxArgon2Thread)
	}
	if t < 1 || threads < 1 || m < 8*threads {
		// RFC 9106: t >= 1, p >= 1, m >= 8p. (argon2.IDKey panics on the
		// first two.)
		return p, nil, nil, fmt.Errorf("%w: argon2id: want t>=1, p>=1, m>=8p", ErrMalformedHash)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < minArgon2Salt || len(salt) > maxArgon2Salt {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want a base64 salt of %d to %d bytes",
			ErrMalformedHash, minArgon2Salt, maxArgon2Salt)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < minArgon2Key || len(key) > maxArgon2Key {
		return p, nil, nil, fmt.Errorf("%w: argon2id: want a base64 hash of %d to %d bytes",
			ErrMalformedHash, minArgon2Key, maxArgon2Key)
	}
	p = Argon2Params{Memory: m, Time: t, Threads: uint8(threads), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}

// decodeParam parses "name=decimal" with the value at most limit. The digits
// must be plain ASCII with no sign, as strconv.ParseUint requires.
func decodeParam(s, name string, limit uint32) (uint32, bool) {
	v, ok := strings.CutPrefix(s, name)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > uint64(limit) {
		return 0, false
	}
	return uint32(n), true
}

func verifyBcrypt(encoded, plain string) (bool, error) {
	cost, err := decodeBcrypt(encoded)
	if err != nil {
		return false, err
	}
	if cost > maxBcryptCost {
		return false, fmt.Errorf("%w: bcrypt: want cost at most %d", ErrMalformedHash, maxBcryptCost)
	}
	if len(plain) > bcryptMaxPasswordBytes {
		return false, nil
	}
	// CompareHashAndPassword compares in constant time.
	err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(plain))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	default:
		return false, fmt.Errorf("%w: bcrypt: %w", ErrMalformedHash, err)
	}
}

// decodeBcrypt checks the shape "$2b$CC$" + 53 characters of bcrypt's base64
// alphabet, and returns the cost. x/crypto/bcrypt's own parser is lenient
// (any length of hash, a sign in the cost), so the shape is checked here.
func decodeBcrypt(encoded string) (int, error) {
	const size = 60 // "$2b$" + "12" + "$" + 22 salt + 31 hash
	if len(encoded) != size || encoded[6] != '$' {
		return 0, fmt.Errorf("%w: bcrypt: want 60 characters \"$2b$NN$...\"", ErrMalformedHash)
	}
	c1, c2 := encoded[4], encoded[5]
	if c1 < '0' || c1 > '9' || c2 < '0' || c2 > '9' {
		return 0, fmt.Errorf("%w: bcrypt: want a two-digit cost", ErrMalformedHash)
	}
	for i := 7; i < size; i++ {
		if !isBcryptBase64(encoded[i]) {
			return 0, fmt.Errorf("%w: bcrypt: want salt and hash in bcrypt's base64", ErrMalformedHash)
		}
	}
	return int(c1-'0')*10 + int(c2-'0'), nil
}

func isBcryptBase64(c byte) bool {
	return c == '.' || c == '/' || ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}
