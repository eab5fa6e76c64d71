package password

import (
	"os"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// readCommonFile returns the embedded list file's header and entries, read
// from disk as a maintainer would.
func readCommonFile(t *testing.T) (header string, entries []string) {
	t.Helper()
	b, err := os.ReadFile("common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	header, body, ok := strings.Cut(string(b), "\n\n")
	if !ok {
		t.Fatal("common-passwords.txt: got no empty line after the header, want one")
	}
	return header, strings.Split(strings.TrimSuffix(body, "\n"), "\n")
}

// TestCommonPasswordsFile checks the invariants the lookup relies on.
func TestCommonPasswordsFile(t *testing.T) {
	header, entries := readCommonFile(t)
	for i, line := range strings.Split(header, "\n") {
		if !strings.HasPrefix(line, "# ") {
			t.Errorf("header line %d: got %q, want a \"# \" comment", i+1, line)
		}
	}
	for _, want := range []string{"@zxcvbn-ts/language-common", "Mark Burnett", "Licence: MIT"} {
		if !strings.Contains(header, want) {
			t.Errorf("header: got no %q, want the source and licence named", want)
		}
	}
	if got, want := len(entries), 17950; got != want {
		t.Errorf("entries: got %d, want %d", got, want)
	}
	for i, e := range entries {
		if utf8.RuneCountInString(e) < defaultMinLength || e != strings.ToLower(e) || e != strings.TrimSpace(e) {
			t.Errorf("entry %d: got %q, want lower-case, trimmed, at least %d characters", i+1, e, defaultMinLength)
		}
		if i > 0 && entries[i-1] >= e {
			t.Errorf("entry %d: got %q after %q, want sorted without duplicates", i+1, e, entries[i-1])
		}
	}
	if got := commonPasswords(); !slices.Equal(got, entries) {
		t.Errorf("commonPasswords: got %d entries, want the file's %d", len(got), len(entries))
	}
}

// TestCheckRefusesListedPasswords takes entries from the file itself, spread
// over it, and checks the policy refuses them in any case.
func TestCheckRefusesListedPasswords(t *testing.T) {
	_, entries := readCommonFile(t)
	var picked []string
	for i := 0; i < len(entries); i += 997 {
		picked = append(picked, entries[i])
	}
	picked = append(picked, entries[len(entries)-1])
	var p Policy
	for _, e := range picked {
		for _, plain := range []string{e, strings.ToUpper(e), strings.ToUpper(e[:1]) + e[1:]} {
			if got := reasonOf(t, p.Check(plain)); got != reasonCommon && utf8.RuneCountInString(e) <= defaultMaxLength {
				t.Errorf("Check(%q): got reason %q, want %q", plain, got, reasonCommon)
			}
		}
	}
	// Well-known entries, so a rebuilt list that lost them is noticed.
	for _, plain := range []string{"password", "12345678", "iloveyou", "qwertyuiop", "trustno1", "sunshine"} {
		if !isCommon(plain) {
			t.Errorf("isCommon(%q): got false, want true", plain)
		}
	}
}

// TestEmbeddedListMatchesText: the binary embeds common-passwords.txt.gz;
// common-passwords.txt is what people read and edit. Rebuild the first
// from the second with: gzip -9 -n -k -c common-passwords.txt > common-passwords.txt.gz
func TestEmbeddedListMatchesText(t *testing.T) {
	text, err := os.ReadFile("common-passwords.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := gunzip(commonPasswordsGzip); got != string(text) {
		t.Fatalf("common-passwords.txt.gz holds %d bytes that differ from common-passwords.txt (%d bytes): rebuild it", len(got), len(text))
	}
}
