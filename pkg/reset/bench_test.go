package reset

import (
	"crypto/rand"
	"testing"
)

// The hot pure code of a code request and a guess: drawing a code and a
// record id, and the keyed hashes of the subject and the code. None of it
// touches DynamoDB, so these run without the emulators.

var (
	benchKey  = Key{ID: "k1", Secret: []byte("a benchmark key of at least 32 bytes!!")}
	benchSink string
)

func BenchmarkNewCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c, err := newCode(rand.Reader, 6)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = string(c)
	}
}

func BenchmarkHashCode(b *testing.B) {
	subject := mac(benchKey, "subject", "email", "alice@example.com")
	b.ReportAllocs()
	for b.Loop() {
		benchSink = string(hashCode(benchKey, subject, "0123456789abcdef0123456789abcdef", "123456"))
	}
}

// BenchmarkIssueCodeSecrets is what RequestCode computes before its
// conditional write: the subject, a code, a record id and the code's hash.
func BenchmarkIssueCodeSecrets(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		subject := mac(benchKey, "subject", "email", "alice@example.com")
		code, err := newCode(rand.Reader, 6)
		if err != nil {
			b.Fatal(err)
		}
		id, err := newID(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = string(hashCode(benchKey, subject, id, code))
	}
}

func BenchmarkNewToken(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		t, err := newToken(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		benchSink = string(hashToken(t))
	}
}
