package reset

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEmail(t *testing.T) {
	// A 254-character address: 64-character local part, 189-character domain.
	local64 := strings.Repeat("a", 64)
	domain189 := strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	longest := local64 + "@" + domain189

	valid := []struct {
		name, in, want string
	}{
		{"plain", "alice@example.test", "alice@example.test"},
		{"trimmed", "  alice@example.test\t", "alice@example.test"},
		{"lower-cased", "Alice@Example.TEST", "alice@example.test"},
		{"plus tag", "alice+reset@example.test", "alice+reset@example.test"},
		{"dots inside local part", "a.b.c@example.test", "a.b.c@example.test"},
		{"atext symbols", "a!#$&'*/=?^_`{|}~-b@example.test", "a!#$&'*/=?^_`{|}~-b@example.test"},
		{"subdomain and digits", "x1@mail2.example.test", "x1@mail2.example.test"},
		{"hyphen in label", "a@ex-ample.test", "a@ex-ample.test"},
		{"254 characters", longest, longest},
		{"64-character local part", local64 + "@x.test", local64 + "@x.test"},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEmail(tt.in)
			if err != nil || got.String() != tt.want {
				t.Errorf("ParseEmail(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}

	invalid := []struct {
		name, in string
	}{
		{"empty", ""},
		{"blank", "   "},
		{"list with comma", "a@x.test,b@y.test"},
		{"list with comma and space", "a@x.test, b@y.test"},
		{"list with semicolon", "a@x.test;b@y.test"},
		{"list with space", "a@x.test b@y.test"},
		{"CR LF header injection", "a@x.test\r\nBcc: b@y.test"},
		{"LF inside", "a@x.test\nb@y.test"},
		{"CR inside", "a\r@x.test"},
		{"tab inside", "a\t@x.test"},
		{"NUL byte", "a\x00@x.test"},
		{"two @", "a@b@x.test"},
		{"@@", "a@@x.test"},
		{"no @", "ax.test"},
		{"only @", "@"},
		{"empty local part", "@x.test"},
		{"empty domain", "a@"},
		{"display name", "A <a@x.test>"},
		{"angle brackets", "<a@x.test>"},
		{"quoted local part", `"a"@x.test`},
		{"quoted local part with space", `"a b"@x.test`},
		{"quoted display name", `"A" <a@x.test>`},
		{"comment", "a(comment)@x.test"},
		{"dotless i", "adm\u0131n@x.test"},
		{"Cyrillic a", "\u0430dmin@x.test"},
		{"fullwidth letters", "\uff41\uff44\uff4d\uff49\uff4e@x.test"},
		{"fullwidth at sign", "a\uff20x.test"},
		{"non-ASCII domain", "a@ex\u00e4mple.test"},
		{"Cyrillic look-alike domain", "a@\u0440\u0430\u0443\u0440\u0430l.test"},
		{"invalid UTF-8", "a\xff@x.test"},
		{"single-label domain", "a@localhost"},
		{"empty label", "a@x..test"},
		{"leading empty label", "a@.x.test"},
		{"trailing empty label", "a@x.test."},
		{"label starting with hyphen", "a@-x.test"},
		{"label ending with hyphen", "a@x-.test"},
		{"label of 64", "a@" + strings.Repeat("l", 64) + ".test"},
		{"underscore in domain", "a@x_y.test"},
		{"IP literal", "a@[127.0.0.1]"},
		{"255 characters", local64 + "@" + domain189[:len(domain189)-1] + "dd"},
		{"65-character local part", local64 + "a@x.test"},
		{"leading dot in local part", ".a@x.test"},
		{"trailing dot in local part", "a.@x.test"},
		{"two dots in local part", "a..b@x.test"},
		{"backslash", `a\b@x.test`},
		{"colon", "a:b@x.test"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEmail(tt.in)
			if !errors.Is(err, ErrInvalidEmail) {
				t.Errorf("ParseEmail(%q) = %q, %v; want ErrInvalidEmail", tt.in, got, err)
			}
			if got != (Email{}) {
				t.Errorf("ParseEmail(%q) = %q with an error; want the zero Email", tt.in, got)
			}
		})
	}
}

// TestParseEmailRefusesNonASCIIFolding: Unicode lower-cases a few
// non-ASCII capitals to ASCII letters (KELVIN SIGN U+212A to "k", U+0130 to
// "i"), so ParseEmail must refuse non-ASCII before it lower-cases, or
// "\u212Aate@x.test" would name kate@x.test's account.
func TestParseEmailRefusesNonASCIIFolding(t *testing.T) {
	for _, in := range []string{
		"\u212Aate@x.test",  // KELVIN SIGN
		"adm\u0130n@x.test", // LATIN CAPITAL LETTER I WITH DOT ABOVE
		"kate@\u212A.test",  // KELVIN SIGN in the domain
	} {
		if got, err := ParseEmail(in); !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("ParseEmail(%+q) = %+q, %v; want ErrInvalidEmail (non-ASCII)", in, got, err)
		}
	}
}

// TestParseEmailRefusesPercent: "%" is RFC 5322 atext, but old relays read
// it as source routing and a double-encoded path email carries it in, so
// ParseEmail refuses it; a real NUL byte is refused too.
func TestParseEmailRefusesPercent(t *testing.T) {
	in := "a%00@x.test"
	if got, err := ParseEmail(in); !errors.Is(err, ErrInvalidEmail) {
		t.Errorf("ParseEmail(%q) = %q, %v; want ErrInvalidEmail", in, got, err)
	}
}

func TestParseUsername(t *testing.T) {
	valid := []struct {
		name, in, want string
	}{
		{"plain", "alice", "alice"},
		{"case kept", "Alice", "Alice"},
		{"trimmed", "  alice \n", "alice"},
		{"punctuation", "alice.b_c-d+e", "alice.b_c-d+e"},
		{"non-ASCII letters", "\u00e9lodie", "\u00e9lodie"},
		{"64 code points", strings.Repeat("\u00e9", 64), strings.Repeat("\u00e9", 64)},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUsername(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseUsername(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}

	invalid := []struct {
		name, in string
	}{
		{"empty", ""},
		{"blank", " \t "},
		{"65 code points", strings.Repeat("a", 65)},
		{"at sign", "alice@example.test"},
		{"space inside", "al ice"},
		{"tab inside", "al\tice"},
		{"CR LF inside", "al\r\nice"},
		{"NUL", "al\x00ice"},
		{"DEL", "al\x7fice"},
		{"C1 control", "al\u0085ice"},
		{"invalid UTF-8", "al\xffice"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUsername(tt.in)
			if !errors.Is(err, ErrInvalidUsername) || got != "" {
				t.Errorf("ParseUsername(%q) = %q, %v; want \"\", ErrInvalidUsername", tt.in, got, err)
			}
		})
	}
}

// TestParseUsernameRefusesUnicodeSpace: white space beyond ASCII (NO-BREAK
// SPACE, EM SPACE, IDEOGRAPHIC SPACE) is refused in a user name, as ASCII
// space is: "al\u00a0ice" must not pass for a name.
func TestParseUsernameRefusesUnicodeSpace(t *testing.T) {
	for _, in := range []string{"al\u00a0ice", "al\u2003ice", "al\u3000ice"} {
		if got, err := ParseUsername(in); !errors.Is(err, ErrInvalidUsername) {
			t.Errorf("ParseUsername(%+q) = %+q, %v; want ErrInvalidUsername (white space)", in, got, err)
		}
	}
}
