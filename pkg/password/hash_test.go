package password

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// cheapArgon2 keeps tests that are not about the parameters fast under -race.
var cheapArgon2 = Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// newTestHasher returns a Hasher for alg with cheap parameters.
func newTestHasher(t testing.TB, alg Algorithm) *Hasher {
	t.Helper()
	h, err := NewHasher(alg)
	if err != nil {
		t.Fatalf("NewHasher(%q): %v", alg, err)
	}
	h.argon2 = cheapArgon2
	h.bcryptCost = bcrypt.MinCost
	return h
}

func TestNewHasher(t *testing.T) {
	tests := []struct {
		name    string
		alg     Algorithm
		wantErr bool
	}{
		{name: "argon2id", alg: Argon2id},
		{name: "bcrypt", alg: Bcrypt},
		{name: "unknown", alg: "scrypt", wantErr: true},
		{name: "empty", alg: "", wantErr: true},
		{name: "wrong case", alg: "Argon2id", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHasher(tt.alg)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("NewHasher(%q): got nil error, want one", tt.alg)
				}
				if want := string(tt.alg); !strings.Contains(err.Error(), `"`+want+`"`) {
					t.Errorf("NewHasher(%q): got error %q, want it to name %q", tt.alg, err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewHasher(%q): got error %v, want nil", tt.alg, err)
			}
			if h.argon2 != DefaultArgon2 || h.bcryptCost != DefaultBcryptCost {
				t.Errorf("NewHasher(%q): got argon2 %+v cost %d, want %+v cost %d",
					tt.alg, h.argon2, h.bcryptCost, DefaultArgon2, DefaultBcryptCost)
			}
		})
	}
}

func TestDefaultArgon2IsOWASPMinimum(t *testing.T) {
	want := Argon2Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
	if DefaultArgon2 != want {
		t.Errorf("DefaultArgon2: got %+v, want %+v", DefaultArgon2, want)
	}
}

// The reference implementation's CLI (Debian package argon2, 0~20171227)
// produced these:
//
//	printf %s 'correct horse battery staple' | argon2 somesalt01234567 -id -t 2 -k 19456 -p 1 -l 32 -e
//	printf %s 'pässwörd ✓ 🦊' | argon2 saltsaltsaltsalt -id -t 3 -k 64 -p 2 -l 32 -e
const (
	refPlain    = "correct horse battery staple"
	refSalt     = "somesalt01234567"
	refEncoded  = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQwMTIzNDU2Nw$TCGkyEIb1oP5PkskxJEooy8qzHEScFQZam0/hwasFDQ"
	refPlain2   = "pässwörd ✓ 🦊"
	refEncoded2 = "$argon2id$v=19$m=64,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$hM0wzoNAI3IJsWSio1wMst5HXyeuYfbEu0JM6sELjBg"
)

func TestHashArgon2idDefaultIsReferencePHC(t *testing.T) {
	h, err := NewHasher(Argon2id)
	if err != nil {
		t.Fatal(err)
	}
	h.rand = strings.NewReader(refSalt)
	got, err := h.Hash(refPlain)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if got != refEncoded {
		t.Errorf("Hash(%q) with salt %q: got %s, want %s", refPlain, refSalt, got, refEncoded)
	}
}

func TestHashArgon2idDefault(t *testing.T) {
	h, err := NewHasher(Argon2id)
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := h.Hash(refPlain)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	// Standard base64 without padding: 16 bytes are 22 characters, 32 are 43.
	phc := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !phc.MatchString(encoded) {
		t.Errorf("Hash: got %s, want a match of %s", encoded, phc)
	}
	if ok, err := Verify(encoded, refPlain); !ok || err != nil {
		t.Errorf("Verify(own hash, right password): got %v, %v, want true, nil", ok, err)
	}
	if ok, err := Verify(encoded, refPlain+"!"); ok || err != nil {
		t.Errorf("Verify(own hash, wrong password): got %v, %v, want false, nil", ok, err)
	}
	again, err := h.Hash(refPlain)
	if err != nil {
		t.Fatal(err)
	}
	if again == encoded {
		t.Errorf("Hash twice: got the same string %s, want a fresh salt each time", encoded)
	}
}

// TestHashBcryptCost checks Hash writes the Hasher's cost. The default, 12,
// is checked by TestNewHasher: hashing at it takes seconds under -race.
func TestHashBcryptCost(t *testing.T) {
	h := newTestHasher(t, Bcrypt)
	h.bcryptCost = 5
	encoded, err := h.Hash(refPlain)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	if !strings.HasPrefix(encoded, "$2a$05$") || len(encoded) != 60 {
		t.Errorf("Hash: got %s, want 60 characters starting $2a$05$", encoded)
	}
	if ok, err := Verify(encoded, refPlain); !ok || err != nil {
		t.Errorf("Verify(own hash, right password): got %v, %v, want true, nil", ok, err)
	}
}

func TestVerify(t *testing.T) {
	argon := newTestHasher(t, Argon2id)
	bc := newTestHasher(t, Bcrypt)
	argonHash, err := argon.Hash("s3cret-enough")
	if err != nil {
		t.Fatal(err)
	}
	bcryptHash, err := bc.Hash("s3cret-enough")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		encoded string
		plain   string
		want    bool
	}{
		{name: "reference argon2id", encoded: refEncoded, plain: refPlain, want: true},
		{name: "reference argon2id wrong password", encoded: refEncoded, plain: "correct horse battery stapl", want: false},
		{name: "reference argon2id non-ASCII p=2", encoded: refEncoded2, plain: refPlain2, want: true},
		{name: "reference argon2id non-ASCII not normalized", encoded: refEncoded2, plain: "pa\u0308sswörd ✓ 🦊", want: false},
		{name: "argon2id right", encoded: argonHash, plain: "s3cret-enough", want: true},
		{name: "argon2id wrong case", encoded: argonHash, plain: "S3cret-enough", want: false},
		{name: "argon2id empty password", encoded: argonHash, plain: "", want: false},
		{name: "bcrypt 2a right", encoded: bcryptHash, plain: "s3cret-enough", want: true},
		{name: "bcrypt 2a wrong", encoded: bcryptHash, plain: "s3cret-enougH", want: false},
		// $2b$ and $2y$ differ from $2a$ only in how other libraries handled
		// long or non-ASCII passwords; the computation is the same.
		{name: "bcrypt 2b right", encoded: "$2b$" + bcryptHash[4:], plain: "s3cret-enough", want: true},
		{name: "bcrypt 2y right", encoded: "$2y$" + bcryptHash[4:], plain: "s3cret-enough", want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.encoded, tt.plain)
			if err != nil {
				t.Fatalf("Verify(%q, %q): got error %v, want nil", tt.encoded, tt.plain, err)
			}
			if got != tt.want {
				t.Errorf("Verify(%q, %q): got %v, want %v", tt.encoded, tt.plain, got, tt.want)
			}
		})
	}
}

// TestNoTruncation checks that every byte of a long password counts: two
// passwords that differ only at the end hash differently, and each hash
// verifies only its own password.
func TestNoTruncation(t *testing.T) {
	long := strings.Repeat("ü", 127) // 127 code points, 254 bytes
	tests := []struct {
		name string
		alg  Algorithm
		a, b string
	}{
		{name: "argon2id 128 code points", alg: Argon2id, a: long + "a", b: long + "b"},
		{name: "bcrypt 72 bytes", alg: Bcrypt, a: strings.Repeat("x", 71) + "a", b: strings.Repeat("x", 71) + "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHasher(t, tt.alg)
			hashA, err := h.Hash(tt.a)
			if err != nil {
				t.Fatalf("Hash(a): %v", err)
			}
			hashB, err := h.Hash(tt.b)
			if err != nil {
				t.Fatalf("Hash(b): %v", err)
			}
			for _, c := range []struct {
				hash, plain string
				want        bool
			}{
				{hashA, tt.a, true}, {hashA, tt.b, false},
				{hashB, tt.b, true}, {hashB, tt.a, false},
			} {
				got, err := Verify(c.hash, c.plain)
				if err != nil || got != c.want {
					t.Errorf("Verify(%s, ...%q): got %v, %v, want %v, nil",
						c.hash, c.plain[len(c.plain)-1:], got, err, c.want)
				}
			}
		})
	}
}

func TestBcryptOver72Bytes(t *testing.T) {
	h := newTestHasher(t, Bcrypt)
	p72 := strings.Repeat("x", 72)
	if _, err := h.Hash(p72); err != nil {
		t.Errorf("Hash(72 bytes): got error %v, want nil", err)
	}
	// 36 code points but 73 bytes: the limit is bcrypt's, in bytes.
	p73 := strings.Repeat("é", 36) + "x"
	if got, err := h.Hash(p73); err == nil {
		t.Errorf("Hash(73 bytes): got %s, nil, want an error", got)
	}
	// bcrypt would compare only the first 72 bytes: Verify must not.
	stored, err := h.Hash(p72)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(stored, p72+"y"); ok || err != nil {
		t.Errorf("Verify(hash of 72 bytes, same 72 bytes + \"y\"): got %v, %v, want false, nil", ok, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	const (
		salt = "c29tZXNhbHQwMTIzNDU2Nw"                      // 16 bytes
		key  = "TCGkyEIb1oP5PkskxJEooy8qzHEScFQZam0/hwasFDQ" // 32 bytes
	)
	argon := func(version, params, s, k string) string {
		return "$argon2id$" + version + "$" + params + "$" + s + "$" + k
	}
	valid := newTestHasher(t, Bcrypt)
	bcryptHash, err := valid.Hash("s3cret-enough")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		encoded string
	}{
		{name: "empty", encoded: ""},
		{name: "plain text", encoded: "hunter2hunter2"},
		{name: "unknown scheme", encoded: "$scrypt$ln=16,r=8,p=1$c2FsdA$aGFzaA"},
		{name: "argon2i", encoded: "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{name: "argon2id prefix only", encoded: "$argon2id$"},
		{name: "argon2id too few fields", encoded: "$argon2id$v=19$m=64,t=1,p=1$" + salt},
		{name: "argon2id too many fields", encoded: argon("v=19", "m=64,t=1,p=1", salt, key) + "$x"},
		{name: "argon2id no version", encoded: "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{name: "argon2id version 16", encoded: argon("v=16", "m=64,t=1,p=1", salt, key)},
		{name: "argon2id version garbage", encoded: argon("v=19x", "m=64,t=1,p=1", salt, key)},
		{name: "argon2id params out of order", encoded: argon("v=19", "t=1,m=64,p=1", salt, key)},
		{name: "argon2id params missing", encoded: argon("v=19", "m=64,t=1", salt, key)},
		{name: "argon2id params extra", encoded: argon("v=19", "m=64,t=1,p=1,k=2", salt, key)},
		{name: "argon2id memory over 1 GiB", encoded: argon("v=19", "m=1048577,t=1,p=1", salt, key)},
		{name: "argon2id memory 2^32", encoded: argon("v=19", "m=4294967296,t=1,p=1", salt, key)},
		{name: "argon2id memory huge", encoded: argon("v=19", "m=99999999999999999999,t=1,p=1", salt, key)},
		{name: "argon2id memory below 8p", encoded: argon("v=19", "m=15,t=1,p=2", salt, key)},
		{name: "argon2id time 0", encoded: argon("v=19", "m=64,t=0,p=1", salt, key)},
		{name: "argon2id time 101", encoded: argon("v=19", "m=64,t=101,p=1", salt, key)},
		{name: "argon2id threads 0", encoded: argon("v=19", "m=64,t=1,p=0", salt, key)},
		{name: "argon2id threads 65", encoded: argon("v=19", "m=1024,t=1,p=65", salt, key)},
		{name: "argon2id threads 256", encoded: argon("v=19", "m=4096,t=1,p=256", salt, key)},
		{name: "argon2id negative", encoded: argon("v=19", "m=-64,t=1,p=1", salt, key)},
		{name: "argon2id plus sign", encoded: argon("v=19", "m=+64,t=1,p=1", salt, key)},
		{name: "argon2id empty value", encoded: argon("v=19", "m=,t=1,p=1", salt, key)},
		{name: "argon2id spaces", encoded: argon("v=19", "m= 64,t=1,p=1", salt, key)},
		{name: "argon2id salt not base64", encoded: argon("v=19", "m=64,t=1,p=1", "!!!!!!!!!!!!", key)},
		{name: "argon2id salt padded", encoded: argon("v=19", "m=64,t=1,p=1", salt+"==", key)},
		{name: "argon2id salt too short", encoded: argon("v=19", "m=64,t=1,p=1", "c2FsdA", key)},
		{name: "argon2id salt empty", encoded: argon("v=19", "m=64,t=1,p=1", "", key)},
		{name: "argon2id salt too long", encoded: argon("v=19", "m=64,t=1,p=1", strings.Repeat("A", 88), key)},
		{name: "argon2id hash too short", encoded: argon("v=19", "m=64,t=1,p=1", salt, "aGFzaA")},
		{name: "argon2id hash empty", encoded: argon("v=19", "m=64,t=1,p=1", salt, "")},
		{name: "argon2id hash too long", encoded: argon("v=19", "m=64,t=1,p=1", salt, strings.Repeat("A", 172))},
		{name: "argon2id hash not base64", encoded: argon("v=19", "m=64,t=1,p=1", salt, strings.Repeat("*", 43))},
		{name: "argon2id whole string too long", encoded: argon("v=19", "m=64,t=1,p=1", salt, key) + strings.Repeat("A", 2000)},
		{name: "bcrypt too short", encoded: "$2a$10$"},
		{name: "bcrypt truncated", encoded: bcryptHash[:59]},
		{name: "bcrypt extended", encoded: bcryptHash + "A"},
		{name: "bcrypt 2x", encoded: "$2x$" + bcryptHash[4:]},
		{name: "bcrypt 2", encoded: "$2$" + bcryptHash[4:]},
		{name: "bcrypt cost 03", encoded: bcryptHash[:4] + "03" + bcryptHash[6:]},
		{name: "bcrypt cost 17", encoded: bcryptHash[:4] + "17" + bcryptHash[6:]},
		{name: "bcrypt cost 31", encoded: bcryptHash[:4] + "31" + bcryptHash[6:]},
		{name: "bcrypt cost 99", encoded: bcryptHash[:4] + "99" + bcryptHash[6:]},
		{name: "bcrypt cost sign", encoded: bcryptHash[:4] + "+5" + bcryptHash[6:]},
		{name: "bcrypt no separator", encoded: bcryptHash[:6] + "x" + bcryptHash[7:]},
		{name: "bcrypt bad alphabet", encoded: bcryptHash[:30] + "+" + bcryptHash[31:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Verify(tt.encoded, "s3cret-enough")
			if err == nil {
				t.Fatalf("Verify(%q): got %v, nil, want an error", tt.encoded, got)
			}
			if got {
				t.Errorf("Verify(%q): got true with error %v, want false", tt.encoded, err)
			}
			if !errors.Is(err, ErrMalformedHash) {
				t.Errorf("Verify(%q): got error %v, want one wrapping ErrMalformedHash", tt.encoded, err)
			}
			// The stored hash is a secret: no part of it in the message.
			for _, part := range []string{salt, key, bcryptHash[7:29]} {
				if strings.Contains(err.Error(), part) {
					t.Errorf("Verify(%q): got error %q, want it not to quote the hash", tt.encoded, err)
				}
			}
		})
	}
}

// FuzzVerify checks that Verify never panics, whatever the stored string.
// Its seeds are in testdata/fuzz/FuzzVerify: well-formed hashes of both
// formats and hostile ones.
func FuzzVerify(f *testing.F) {
	f.Fuzz(func(t *testing.T, encoded, plain string) {
		// Keep each run cheap: skip strings whose work the bounds allow but a
		// fuzzer should not spend (the parse has run by then, which is the
		// part under test).
		if strings.HasPrefix(encoded, "$argon2id$") {
			if p, _, _, err := decodeArgon2id(encoded); err == nil && uint64(p.Memory)*uint64(p.Time) > 1<<12 {
				t.Skip("argon2id too costly for a fuzz run")
			}
		}
		if cost, err := decodeBcrypt(encoded); err == nil && cost > 6 {
			t.Skip("bcrypt too costly for a fuzz run")
		}
		ok, err := Verify(encoded, plain)
		if ok && err != nil {
			t.Errorf("Verify(%q, %q): got true and error %v", encoded, plain, err)
		}
	})
}

func BenchmarkHashArgon2idDefault(b *testing.B) {
	h, err := NewHasher(Argon2id)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(refPlain); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHashBcryptDefault(b *testing.B) {
	h, err := NewHasher(Bcrypt)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(refPlain); err != nil {
			b.Fatal(err)
		}
	}
}
