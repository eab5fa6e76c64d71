package password

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	const (
		email = "Alice.Example@example.com"
		user  = "AliceInWonderland"
	)
	// A password of n code points that is on no list.
	okOf := func(n int) string { return strings.Repeat("k7", n/2) + strings.Repeat("q", n%2) }
	tests := []struct {
		name       string
		policy     Policy
		plain      string
		identities []string
		want       string // the Rejection's reason, "" for nil
	}{
		{name: "8 ASCII", plain: "tr0ub4do", want: ""},
		{name: "7 ASCII", plain: "tr0ub4d", want: "Password must be at least 8 characters."},
		{name: "empty", plain: "", want: "Password must be at least 8 characters."},
		{name: "8 emoji (32 bytes)", plain: strings.Repeat("🦊", 8), want: ""},
		{name: "7 emoji (28 bytes)", plain: strings.Repeat("🦊", 7), want: "Password must be at least 8 characters."},
		{name: "4 letters with combining accents are 8 code points", plain: strings.Repeat("e\u0301", 4), want: ""},
		{name: "128 code points", plain: okOf(128), want: ""},
		{name: "129 code points", plain: okOf(129), want: "Password must be at most 128 characters."},
		{name: "128 emoji (512 bytes)", plain: strings.Repeat("🦊", 128), want: ""},
		{name: "129 emoji", plain: strings.Repeat("🦊", 129), want: "Password must be at most 128 characters."},
		{name: "custom minimum 12, 11 given", policy: Policy{MinLength: 12}, plain: okOf(11), want: "Password must be at least 12 characters."},
		{name: "custom minimum 12, 12 given", policy: Policy{MinLength: 12}, plain: okOf(12), want: ""},
		{name: "custom maximum 64, 65 given", policy: Policy{MaxLength: 64}, plain: okOf(65), want: "Password must be at most 64 characters."},
		{name: "no composition rules: all lower-case letters", plain: "quietmountainriver", want: ""},
		{name: "no composition rules: all digits", plain: "80451937266", want: ""},
		{name: "spaces allowed and kept", plain: "  correct horse  ", want: ""},

		{name: "bcrypt 72 bytes", policy: Policy{Algorithm: Bcrypt}, plain: okOf(72), want: ""},
		{name: "bcrypt 73 bytes", policy: Policy{Algorithm: Bcrypt}, plain: okOf(73), want: "Password must be at most 72 bytes."},
		{name: "bcrypt 18 emoji are 72 bytes", policy: Policy{Algorithm: Bcrypt}, plain: strings.Repeat("🦊", 18), want: ""},
		{name: "bcrypt 19 emoji are 76 bytes", policy: Policy{Algorithm: Bcrypt}, plain: strings.Repeat("🦊", 19), want: "Password must be at most 72 bytes."},
		{name: "bcrypt too long in code points says characters", policy: Policy{Algorithm: Bcrypt}, plain: okOf(129), want: "Password must be at most 128 characters."},
		{name: "argon2id 73 bytes", policy: Policy{Algorithm: Argon2id}, plain: okOf(73), want: ""},

		{name: "invalid UTF-8", plain: "tr0ub4do\xff", want: "Password contains characters that are not allowed."},
		{name: "encoded surrogate", plain: "tr0ub4do\xed\xa0\x80", want: "Password contains characters that are not allowed."},
		{name: "NUL", plain: "tr0ub4do\x00x", want: "Password contains characters that are not allowed."},
		{name: "newline", plain: "tr0ub4do\n", want: "Password contains characters that are not allowed."},
		{name: "tab", plain: "tr0\tub4do", want: "Password contains characters that are not allowed."},
		{name: "DEL", plain: "tr0ub4do\x7f", want: "Password contains characters that are not allowed."},
		{name: "C1 control", plain: "tr0ub4do\u0085", want: "Password contains characters that are not allowed."},
		{name: "short and invalid says invalid", plain: "\x00", want: "Password contains characters that are not allowed."},
		{name: "zero-width joiner in an emoji is fine", plain: "👩\u200d💻👩\u200d💻👩\u200d💻", want: ""},

		{name: "equals email", plain: email, identities: []string{email, user}, want: "Password must not be your email or user name."},
		{name: "equals email in other case", plain: strings.ToUpper(email), identities: []string{email, user}, want: "Password must not be your email or user name."},
		{name: "equals email local part", plain: "alice.example", identities: []string{email, user}, want: "Password must not be your email or user name."},
		{name: "equals user name", plain: "aliceinwonderland", identities: []string{email, user}, want: "Password must not be your email or user name."},
		{name: "equals user name, email empty", plain: user, identities: []string{"", user}, want: "Password must not be your email or user name."},
		{name: "contains email but is longer", plain: email + "!", identities: []string{email, user}, want: ""},
		{name: "no identities", plain: "alice.example", want: ""},
		{name: "empty identities", plain: "alice.example", identities: []string{"", ""}, want: ""},
		{name: "domain is not the local part", plain: "example.com", identities: []string{email}, want: ""},

		{name: "common", plain: "password1", want: "Password is too common. Choose a less common password."},
		{name: "common in other case", plain: "PassWord1", want: "Password is too common. Choose a less common password."},
		{name: "common with a trailing space is not trimmed", plain: "password1 ", want: ""},
		{name: "common but too short says short", plain: "dragon", want: "Password must be at least 8 characters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.policy.Check(tt.plain, tt.identities...)
			if got := reasonOf(t, err); got != tt.want {
				t.Errorf("%+v.Check(%q, %q): got reason %q, want %q", tt.policy, tt.plain, tt.identities, got, tt.want)
			}
		})
	}
}

// reasonOf returns the reason of a *Rejection, "" for nil, and fails the test
// on any other error.
func reasonOf(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var r *Rejection
	if !errors.As(err, &r) {
		t.Fatalf("got error %v of type %T, want a *Rejection", err, err)
	}
	if r.Error() != r.Reason {
		t.Errorf("Rejection.Error(): got %q, want the Reason %q", r.Error(), r.Reason)
	}
	if !strings.HasSuffix(r.Reason, ".") {
		t.Errorf("Rejection.Reason: got %q, want a sentence ending in a period", r.Reason)
	}
	if want := ruleOf(r.Reason); r.Rule != want {
		t.Errorf("Rejection{%q}.Rule: got %q, want %q: the metric must name the rule the user was told of", r.Reason, r.Rule, want)
	}
	return r.Reason
}

// ruleOf is the Rule each reason sentence belongs with, by its fixed start.
func ruleOf(reason string) string {
	for _, r := range []struct{ start, rule string }{
		{"Password contains characters", RuleCharacters},
		{"Password must be at least", RuleTooShort},
		{"Password must be at most 72 bytes.", RuleTooManyBytes},
		{"Password must be at most", RuleTooLong},
		{"Password must not be your email", RuleIdentity},
		{"Password is too common.", RuleCommon},
		{ReasonBreached, RuleBreached},
		{ReasonSameAsCurrent, RuleSameAsCurrent},
	} {
		if strings.HasPrefix(reason, r.start) {
			return r.rule
		}
	}
	return "(no rule for this reason)"
}

func TestCheckNotCurrent(t *testing.T) {
	const current = "current-password-7"
	argon := newTestHasher(t, Argon2id)
	bc := newTestHasher(t, Bcrypt)
	argonHash, err := argon.Hash(current)
	if err != nil {
		t.Fatal(err)
	}
	bcryptHash, err := bc.Hash(current)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		plain     string
		stored    string
		want      string // the Rejection's reason, "" for nil
		wantOther bool   // an error that is not a Rejection
	}{
		{name: "argon2id same", plain: current, stored: argonHash, want: ReasonSameAsCurrent},
		{name: "argon2id different", plain: "brand-new-password-8", stored: argonHash},
		{name: "argon2id differs in case only", plain: strings.ToUpper(current), stored: argonHash},
		{name: "bcrypt same", plain: current, stored: bcryptHash, want: ReasonSameAsCurrent},
		{name: "bcrypt different", plain: "brand-new-password-8", stored: bcryptHash},
		{name: "bcrypt stored, new one over 72 bytes", plain: strings.Repeat("z", 100), stored: bcryptHash},
		{name: "no current password", plain: current, stored: ""},
		{name: "malformed stored hash", plain: current, stored: "$argon2id$v=19$m=1048577,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", wantOther: true},
		{name: "unknown stored format", plain: current, stored: "md5:5f4dcc3b5aa765d61d8327deb882cf99", wantOther: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Policy{}.CheckNotCurrent(tt.plain, tt.stored)
			if tt.wantOther {
				var r *Rejection
				if err == nil || errors.As(err, &r) || !errors.Is(err, ErrMalformedHash) {
					t.Fatalf("CheckNotCurrent(%q, %q): got %v, want an error wrapping ErrMalformedHash, not a Rejection", tt.plain, tt.stored, err)
				}
				return
			}
			if got := reasonOf(t, err); got != tt.want {
				t.Errorf("CheckNotCurrent(%q, %q): got reason %q, want %q", tt.plain, tt.stored, got, tt.want)
			}
		})
	}
}

// benchErr keeps the compiler from dropping the call under benchmark.
var benchErr error

func BenchmarkPolicyCheck(b *testing.B) {
	var p Policy
	commonPasswords() // the first call splits the list; measure the steady state
	for _, bc := range []struct{ name, plain string }{
		{"accepted", "quiet mountain river 42"},
		{"common", "Password1"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchErr = p.Check(bc.plain, "alice@example.com", "alice")
			}
		})
	}
}

func ExamplePolicy_Check() {
	p := Policy{Algorithm: Bcrypt}
	for _, plain := range []string{"short", "Password1", strings.Repeat("€", 25), "correct horse battery staple"} {
		fmt.Println(p.Check(plain, "alice@example.com", "alice"))
	}
	// Output:
	// Password must be at least 8 characters.
	// Password is too common. Choose a less common password.
	// Password must be at most 72 bytes.
	// <nil>
}

// TestReasonsAreTheRejections: Reasons words each rule as the Rejection
// for it does, so the page can translate a JSON answer's reason.
func TestReasonsAreTheRejections(t *testing.T) {
	p := Policy{MinLength: 10, MaxLength: 20, Algorithm: Bcrypt}
	reasons := p.Reasons()
	for _, tt := range []struct {
		plain string
		rule  string
	}{
		{"short", RuleTooShort},
		{strings.Repeat("x", 21), RuleTooLong},
		{"pass\x00word-long", RuleCharacters},
		{"ana@example.com", RuleIdentity},
	} {
		err := p.Check(tt.plain, "ana@example.com")
		var r *Rejection
		if !errors.As(err, &r) || r.Rule != tt.rule {
			t.Fatalf("Check(%q) = %v, want a %s rejection", tt.plain, err, tt.rule)
		}
		if reasons[tt.rule] != r.Reason {
			t.Errorf("Reasons()[%s] = %q, want %q", tt.rule, reasons[tt.rule], r.Reason)
		}
	}
}
