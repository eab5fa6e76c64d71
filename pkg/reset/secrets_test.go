package reset

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// errReader fails every read, like a broken entropy source.
type errReader struct{}

var errNoEntropy = errors.New("no entropy")

func (errReader) Read([]byte) (int, error) { return 0, errNoEntropy }

// fixed returns a reader that yields the same bytes on every call of fixed.
func fixed(b byte) io.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 4096)) }

func TestNewCodeLength(t *testing.T) {
	for n := 4; n <= 10; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			for range 200 {
				c, err := newCode(rand.Reader, n)
				if err != nil {
					t.Fatalf("newCode(crypto/rand, %d): %v", n, err)
				}
				s := c.Reveal()
				if len(s) != n {
					t.Fatalf("newCode(crypto/rand, %d) = %q, %d characters; want %d", n, s, len(s), n)
				}
				if strings.Trim(s, "0123456789") != "" {
					t.Fatalf("newCode(crypto/rand, %d) = %q; want only decimal digits", n, s)
				}
			}
		})
	}
}

func TestNewCodeUsesInjectedReader(t *testing.T) {
	tests := []struct {
		name string
		b    byte
		n    int
		want string
	}{
		// rand.Int reads big-endian bytes and masks them to the limit's bit
		// length: zero bytes give zero, so a leading-zero code is padded.
		{"zeros, 6 digits", 0x00, 6, "000000"},
		{"zeros, 4 digits", 0x00, 4, "0000"},
		{"zeros, 10 digits", 0x00, 10, "0000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newCode(fixed(tt.b), tt.n)
			if err != nil || got.Reveal() != tt.want {
				t.Errorf("newCode(bytes of %#x, %d) = %q, %v; want %q, nil", tt.b, tt.n, got.Reveal(), err, tt.want)
			}
		})
	}
	for _, b := range []byte{0x07, 0x3c, 0xa5} {
		first, err1 := newCode(fixed(b), 6)
		second, err2 := newCode(fixed(b), 6)
		if err1 != nil || err2 != nil || first.Reveal() != second.Reveal() {
			t.Errorf("newCode(bytes of %#x, 6) twice = %q (%v), %q (%v); want the same code twice, no error",
				b, first.Reveal(), err1, second.Reveal(), err2)
		}
	}
	r := bytes.NewReader(bytes.Repeat([]byte{0x07}, 64))
	if _, err := newCode(r, 6); err != nil {
		t.Fatalf("newCode(bytes, 6): %v", err)
	}
	if r.Len() == 64 {
		t.Errorf("newCode(r, 6) did not read r")
	}
	if _, err := newCode(errReader{}, 6); !errors.Is(err, errNoEntropy) {
		t.Errorf("newCode(failing reader, 6) error = %v; want it to wrap the reader's error", err)
	}
}

// TestNewCodeUniform draws 10 000 six-digit codes from crypto/rand and
// checks each position with a chi-square goodness-of-fit test against the
// uniform distribution over 0..9 (9 degrees of freedom, 1 000 expected per
// digit). The bound is 33.72, the critical value at p = 0.0001 for df = 9,
// so a correct generator fails a given position once in 10 000 runs and the
// whole test about once in 1 700; a generator stuck on a digit, skipping
// zeros or favouring low digits by a few percent fails every time. (The
// 27.88 of p = 0.001 would fail a correct generator once in ~170 runs over
// six positions.)
func TestNewCodeUniform(t *testing.T) {
	const (
		draws    = 10_000
		length   = 6
		critical = 33.72 // chi-square, df = 9, p = 0.0001
	)
	var counts [length][10]int
	leadingZeros := 0
	for range draws {
		c, err := newCode(rand.Reader, length)
		if err != nil {
			t.Fatalf("newCode(crypto/rand, %d): %v", length, err)
		}
		s := c.Reveal()
		for i := range length {
			counts[i][s[i]-'0']++
		}
		if s[0] == '0' {
			leadingZeros++
		}
	}
	if leadingZeros == 0 {
		t.Errorf("%d codes from crypto/rand: none starts with 0; want about %d", draws, draws/10)
	}
	expected := float64(draws) / 10
	for i := range length {
		chi2 := 0.0
		for d := range 10 {
			if counts[i][d] == 0 {
				t.Errorf("position %d: digit %d never appears in %d codes", i, d, draws)
			}
			diff := float64(counts[i][d]) - expected
			chi2 += diff * diff / expected
		}
		if chi2 > critical {
			t.Errorf("position %d: chi-square %.2f over counts %v; want at most %.2f (df 9, p 0.0001)", i, chi2, counts[i], critical)
		}
	}
}

func TestNewToken(t *testing.T) {
	seen := map[Token]bool{}
	for range 1000 {
		tok, err := newToken(rand.Reader)
		if err != nil {
			t.Fatalf("newToken(crypto/rand): %v", err)
		}
		s := tok.Reveal()
		if len(s) != 64 || strings.Trim(s, "0123456789abcdef") != "" {
			t.Fatalf("newToken(crypto/rand) = %q; want 64 lower-case hex digits", s)
		}
		if !validToken(tok) {
			t.Fatalf("validToken(newToken()) = false for %q; want true", s)
		}
		if seen[tok] {
			t.Fatalf("newToken(crypto/rand) returned %q twice in 1 000 draws", s)
		}
		seen[tok] = true
	}

	a, errA := newToken(fixed(0xab))
	b, errB := newToken(fixed(0xab))
	if errA != nil || errB != nil || a != b || a.Reveal() != strings.Repeat("ab", 32) {
		t.Errorf("newToken(bytes of 0xab) twice = %q, %q (%v, %v); want %q twice", a.Reveal(), b.Reveal(), errA, errB, strings.Repeat("ab", 32))
	}
	if _, err := newToken(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Errorf("newToken(31-byte reader) = nil error; want one")
	}
	if _, err := newToken(errReader{}); !errors.Is(err, errNoEntropy) {
		t.Errorf("newToken(failing reader) error = %v; want it to wrap the reader's error", err)
	}
}

func TestHashCode(t *testing.T) {
	k1 := Key{ID: "k1", Secret: bytes.Repeat([]byte{1}, 32)}
	k2 := Key{ID: "k2", Secret: bytes.Repeat([]byte{2}, 32)}
	base := hashCode(k1, "subject", "record", "123456")
	if again := hashCode(k1, "subject", "record", "123456"); again != base {
		t.Errorf("hashCode is not deterministic: %q then %q", string(base), string(again))
	}
	if len(base) != 64 || strings.Trim(string(base), "0123456789abcdef") != "" {
		t.Errorf("hashCode = %q; want 64 lower-case hex digits (HMAC-SHA256)", string(base))
	}
	if strings.Contains(string(base), "123456") {
		t.Errorf("hashCode = %q contains the code", string(base))
	}
	tests := []struct {
		name            string
		key             Key
		subject, record string
		code            Code
	}{
		{"other subject", k1, "subject2", "record", "123456"},
		{"other record id", k1, "subject", "record2", "123456"},
		{"other key", k2, "subject", "record", "123456"},
		{"other code", k1, "subject", "record", "123457"},
		// The parts are separated, so moving a character from one part
		// to the next is a different input.
		{"shifted boundary", k1, "subjec", "trecord", "123456"},
		{"shifted into code", k1, "subject", "recor", "d123456"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hashCode(tt.key, tt.subject, tt.record, tt.code)
			if got == base {
				t.Errorf("hashCode(%s, %q, %q, code) = %q, the same as for (k1, \"subject\", \"record\", code); want a different hash",
					tt.key.ID, tt.subject, tt.record, string(got))
			}
		})
	}
}

func TestHashToken(t *testing.T) {
	tok := Token(strings.Repeat("ab", 32))
	h := hashToken(tok)
	if h != hashToken(tok) {
		t.Errorf("hashToken is not deterministic")
	}
	if string(h) == tok.Reveal() || len(h) != 64 {
		t.Errorf("hashToken(token) = %q; want a 64-digit hash different from the token", string(h))
	}
	if hashToken(Token(strings.Repeat("ab", 31)+"ac")) == h {
		t.Errorf("hashToken gives two tokens the same hash")
	}
}

func TestValidToken(t *testing.T) {
	good := strings.Repeat("0123456789abcdef", 4)
	tests := []struct {
		name string
		in   Token
		want bool
	}{
		{"64 lower-case hex", Token(good), true},
		{"empty", "", false},
		{"63 digits", Token(good[:63]), false},
		{"65 digits", Token(good + "0"), false},
		{"upper-case hex", Token(strings.ToUpper(good)), false},
		{"g", Token(good[:63] + "g"), false},
		{"space", Token(good[:63] + " "), false},
		{"slash", Token(good[:63] + "/"), false},
		{"non-ASCII", Token(good[:62] + "\u00e9"), false},
		{"NUL", Token(good[:63] + "\x00"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := validToken(tt.in); got != tt.want {
				t.Errorf("validToken(%q) = %v; want %v", string(tt.in), got, tt.want)
			}
		})
	}
}

func TestLinkURL(t *testing.T) {
	tok := Token(strings.Repeat("ab", 32))
	raw := tok.Reveal()
	tests := []struct {
		name, base, want string
	}{
		{"placeholder in path", "https://app.test/reset/{token}", "https://app.test/reset/" + raw},
		{"placeholder in query", "https://app.test/reset?token={token}&x=1", "https://app.test/reset?token=" + raw + "&x=1"},
		{"placeholder in fragment", "https://app.test/#/reset/{token}", "https://app.test/#/reset/" + raw},
		{"no placeholder: appended", "https://api.test/auth/reset-password", "https://api.test/auth/reset-password/" + raw},
		{"no placeholder, trailing slash", "https://api.test/auth/reset-password/", "https://api.test/auth/reset-password/" + raw},
		{"no placeholder, many trailing slashes", "https://api.test/r//", "https://api.test/r/" + raw},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := linkURL(tt.base, tok); got != tt.want {
				t.Errorf("linkURL(%q, token) = %q; want %q", tt.base, got, tt.want)
			}
		})
	}
}

// TestSecretsRedacted checks that no formatting verb prints a secret, alone
// or inside a struct, a pointer to one, or a slice.
func TestSecretsRedacted(t *testing.T) {
	const (
		code      = "493817"
		codeHash  = "c0dehashc0dehashc0dehash"
		token     = "70ken70ken70ken70ken70ken"
		tokenHash = "70kenhash70kenhash70kenhash"
	)
	type wrapper struct {
		C  Code
		CH CodeHash
		T  Token
		TH TokenHash
	}
	values := []struct {
		name string
		v    any
	}{
		{"Code", Code(code)},
		{"CodeHash", CodeHash(codeHash)},
		{"Token", Token(token)},
		{"TokenHash", TokenHash(tokenHash)},
		{"struct", wrapper{Code(code), CodeHash(codeHash), Token(token), TokenHash(tokenHash)}},
		{"pointer to struct", &wrapper{Code(code), CodeHash(codeHash), Token(token), TokenHash(tokenHash)}},
		{"CodeRecord", CodeRecord{Subject: "s", Hash: CodeHash(codeHash)}},
		{"LinkRecord", &LinkRecord{Hash: TokenHash(tokenHash), Subject: "s"}},
		{"slice", []Code{Code(code)}},
		{"map", map[string]Token{"t": Token(token)}},
	}
	secrets := []string{code, codeHash, token, tokenHash}
	for _, tt := range values {
		for _, verb := range []string{"%v", "%s", "%q", "%+v", "%#v"} {
			t.Run(tt.name+" "+verb, func(t *testing.T) {
				got := fmt.Sprintf(verb, tt.v)
				for _, s := range secrets {
					if strings.Contains(got, s) {
						t.Errorf("Sprintf(%q, %s) = %q; contains the secret %q", verb, tt.name, got, s)
					}
				}
				if !strings.Contains(got, "[REDACTED]") {
					t.Errorf("Sprintf(%q, %s) = %q; want [REDACTED] in it", verb, tt.name, got)
				}
			})
		}
	}
	t.Run("error wrapping", func(t *testing.T) {
		err := fmt.Errorf("consume code %v for %s: %w", Code(code), Token(token), ErrInvalidCode)
		if strings.Contains(err.Error(), code) || strings.Contains(err.Error(), token) {
			t.Errorf("error %q contains a secret", err)
		}
	})
	t.Run("Reveal", func(t *testing.T) {
		if got := Code(code).Reveal(); got != code {
			t.Errorf("Code(%q).Reveal() = %q; want %q", code, got, code)
		}
		if got := Token(token).Reveal(); got != token {
			t.Errorf("Token(%q).Reveal() = %q; want %q", token, got, token)
		}
	})
}

// TestSecretsRedactedInJSONLog: pkg/function logs with slog.NewJSONHandler, which
// encodes string-kinded values with encoding/json and never calls String, so
// each secret type also implements slog.LogValuer and encoding.TextMarshaler:
// slog.Any("code", code), or a struct holding a CodeHash, logs "[REDACTED]".
func TestSecretsRedactedInJSONLog(t *testing.T) {
	tests := []struct {
		name, raw string
		v         any
	}{
		{"Code", "493817", Code("493817")},
		{"CodeHash", "c0dehashc0dehash", CodeHash("c0dehashc0dehash")},
		{"Token", "70ken70ken70ken", Token("70ken70ken70ken")},
		{"TokenHash", "70kenhash70kenhash", TokenHash("70kenhash70kenhash")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("issued", "secret", tt.v)
			if strings.Contains(buf.String(), tt.raw) {
				t.Errorf("JSON log of a %s: %s; contains the secret %q", tt.name, strings.TrimSpace(buf.String()), tt.raw)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"nil", nil, 0},
		{"plain error", errors.New("boom"), 0},
		{"bare ErrRateLimited", ErrRateLimited, 0},
		{"zero", &LimitError{Err: ErrRateLimited}, time.Second},
		{"negative", &LimitError{Err: ErrRateLimited, RetryAfter: -time.Minute}, time.Second},
		{"1 ms", &LimitError{Err: ErrRateLimited, RetryAfter: time.Millisecond}, time.Second},
		{"999 ms", &LimitError{Err: ErrTooManyAttempts, RetryAfter: 999 * time.Millisecond}, time.Second},
		{"1 s", &LimitError{Err: ErrRateLimited, RetryAfter: time.Second}, time.Second},
		{"30 s", &LimitError{Err: ErrRateLimited, RetryAfter: 30 * time.Second}, 30 * time.Second},
		{"wrapped", fmt.Errorf("issue code: %w", &LimitError{Err: ErrRateLimited, RetryAfter: 42 * time.Second}), 42 * time.Second},
		{"joined", errors.Join(errors.New("x"), &LimitError{Err: ErrRateLimited, RetryAfter: 5 * time.Second}), 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RetryAfter(tt.err); got != tt.want {
				t.Errorf("RetryAfter(%v) = %v; want %v", tt.err, got, tt.want)
			}
		})
	}
	// A fraction of a second above one must not come back shorter: the
	// caller rounds it to whole seconds and must not round it down.
	if got := RetryAfter(&LimitError{Err: ErrRateLimited, RetryAfter: 1500 * time.Millisecond}); got < 1500*time.Millisecond {
		t.Errorf("RetryAfter(1.5 s) = %v; want at least 1.5 s", got)
	}
}

func TestLimitErrorIs(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		is, not error
	}{
		{"rate limited", &LimitError{Err: ErrRateLimited, RetryAfter: time.Second}, ErrRateLimited, ErrTooManyAttempts},
		{"too many attempts", &LimitError{Err: ErrTooManyAttempts, RetryAfter: time.Second}, ErrTooManyAttempts, ErrRateLimited},
		{"wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &LimitError{Err: ErrRateLimited})), ErrRateLimited, ErrInvalidCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false; want true", tt.err, tt.is)
			}
			if errors.Is(tt.err, tt.not) {
				t.Errorf("errors.Is(%v, %v) = true; want false", tt.err, tt.not)
			}
			var le *LimitError
			if !errors.As(tt.err, &le) {
				t.Errorf("errors.As(%v, *LimitError) = false; want true", tt.err)
			}
		})
	}
	if got := (&LimitError{Err: ErrRateLimited}).Error(); got != ErrRateLimited.Error() {
		t.Errorf("LimitError{ErrRateLimited}.Error() = %q; want %q", got, ErrRateLimited.Error())
	}
}

func TestLatencySamplePick(t *testing.T) {
	l := newLatencySample()
	for _, r := range []uint64{0, 1, 1 << 63} {
		if got := l.pick(r); got != defaultMailLatency {
			t.Errorf("pick(%d) before any record = %v; want the default %v", r, got, defaultMailLatency)
		}
	}

	l.record(17 * time.Millisecond)
	for _, r := range []uint64{0, 1, 99, ^uint64(0)} {
		if got := l.pick(r); got != 17*time.Millisecond {
			t.Errorf("pick(%d) after recording 17ms = %v; want 17ms", r, got)
		}
	}

	recorded := map[time.Duration]bool{17 * time.Millisecond: true}
	for _, d := range []time.Duration{30 * time.Millisecond, 45 * time.Millisecond} {
		l.record(d)
		recorded[d] = true
	}
	picked := map[time.Duration]bool{}
	for r := range uint64(100) {
		got := l.pick(r)
		if !recorded[got] {
			t.Fatalf("pick(%d) = %v; want one of the recorded %v", r, got, recorded)
		}
		picked[got] = true
	}
	if len(picked) != len(recorded) {
		t.Errorf("pick over r = 0..99 returned %v; want every recorded value %v", picked, recorded)
	}

	// Past the buffer's size only the latest samples are kept.
	l = newLatencySample()
	for i := 1; i <= 40; i++ {
		l.record(time.Duration(i) * time.Millisecond)
	}
	for r := range uint64(200) {
		if got := l.pick(r); got < 9*time.Millisecond || got > 40*time.Millisecond {
			t.Fatalf("pick(%d) after recording 1..40ms = %v; want one of the latest 32 (9..40ms)", r, got)
		}
	}
}

// TestEmailRedactedInLogs: an address logs as "[email]" through both slog
// handlers. The text handler would print it through String without
// LogValue; the test fails if LogValue goes.
func TestEmailRedactedInLogs(t *testing.T) {
	const raw = "alice@example.test"
	e := mustEmail(raw)
	for name, handler := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		var buf bytes.Buffer
		slog.New(handler(&buf)).Info("lookup", "email", e)
		if strings.Contains(buf.String(), raw) || !strings.Contains(buf.String(), "[email]") {
			t.Errorf("%s log of an Email: %s; want [email], not the address", name, strings.TrimSpace(buf.String()))
		}
	}
}
