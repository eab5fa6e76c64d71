package language

import (
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestPreferred(t *testing.T) {
	tests := []struct {
		name, header string
		want         []string
	}{
		{"empty", "", nil},
		{"one", "de", []string{"de"}},
		{"by quality", "en;q=0.5, fr-CA;q=0.9, de", []string{"de", "fr-CA", "en"}},
		{"ties keep order", "es-MX, es;q=0.8, en;q=0.8", []string{"es-MX", "es", "en"}},
		{"q=0 refused", "fr;q=0, de;q=0.1", []string{"de"}},
		{"wildcard dropped", "*, it", []string{"it"}},
		{"malformed dropped", "<script>, de;q=x, fr;q=2, en;foo=1, es ; q=0.3", []string{"es"}},
		{"uppercase Q", "de;Q=0.2, fr", []string{"fr", "de"}},
		{"underscore", "pt_BR", []string{"pt_BR"}},
		{"q not a number", "fr;q=NaN, it;q=nan, en;q=inf, es;q=-0, de;q=0.5", []string{"de"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Preferred(tt.header); !slices.Equal(got, tt.want) {
				t.Errorf("Preferred(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

// TestPreferredLongHeader: a header of a mebibyte is read as its first
// maxRanges ranges, and reading it allocates about what they take, not
// what splitting the whole header would.
func TestPreferredLongHeader(t *testing.T) {
	first := strings.Repeat("de;q=0.5,", maxRanges-1) + "fr"
	header := first + strings.Repeat(",en", 1<<20/3)
	want := Preferred(first)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := Preferred(header)
	runtime.ReadMemStats(&after)
	if !slices.Equal(got, want) {
		t.Errorf("Preferred(1 MiB header) = %q, want its first %d ranges' %q", got, maxRanges, want)
	}
	// Splitting the whole header would take 16 bytes per range, over
	// 5 MiB here; the first ranges take well under 64 KiB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Errorf("Preferred(1 MiB header) allocated %d bytes, want under 64 KiB", n)
	}
}

func TestMatch(t *testing.T) {
	supported := []string{"en", "es", "de", "fr", "pt-BR"}
	tests := []struct {
		name   string
		wanted []string
		want   string
	}{
		{"exact", []string{"de"}, "de"},
		{"region to language", []string{"es-MX"}, "es"},
		{"case and underscore", []string{"FR_ca"}, "fr"},
		{"region kept when served", []string{"pt-br"}, "pt-BR"},
		{"first served wins", []string{"it", "ja", "fr", "de"}, "fr"},
		{"none", []string{"it", "zh-Hant"}, ""},
		{"empty skipped", []string{"", "es"}, "es"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(supported, tt.wanted...); got != tt.want {
				t.Errorf("Match(%q) = %q, want %q", tt.wanted, got, tt.want)
			}
		})
	}
}

// TestChoose is the order a mail's language is chosen in: the account's
// attribute, then Accept-Language, then the default; a value no text
// serves falls through.
func TestChoose(t *testing.T) {
	supported := []string{"en", "es", "de", "fr"}
	tests := []struct {
		name, account, accept, want string
	}{
		{"attribute first", "de", "fr, es", "de"},
		{"attribute region", "es_MX", "fr", "es"},
		{"unsupported attribute falls to header", "it", "fr-FR;q=0.5, ja", "fr"},
		{"malformed attribute falls to header", "<b>", "de", "de"},
		{"no attribute", "", "es-AR,es;q=0.9", "es"},
		{"nothing served: default", "it", "ja, zh;q=0.5", "en"},
		{"nothing at all: default", "", "", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Choose(supported, "en", tt.account, tt.accept); got != tt.want {
				t.Errorf("Choose(%q, %q) = %q, want %q", tt.account, tt.accept, got, tt.want)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for tag, want := range map[string]bool{
		"en": true, "es-MX": true, "zh-Hant-TW": true, "pt_BR": true, "de-1996": true,
		"": false, "-": false, "en-": false, "en--US": false, "1en": false, "toolonglanguage": false,
		"*": false, "en US": false, "<script>": false,
	} {
		if got := Valid(tag); got != want {
			t.Errorf("Valid(%q) = %v, want %v", tag, got, want)
		}
	}
}
