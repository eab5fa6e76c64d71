package password

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"slices"
	"strings"
	"sync"
)

// commonPasswordsGzip is common-passwords.txt, gzipped: a header of "#"
// lines, an empty line, then the common passwords of 8 or more characters,
// lower-case, sorted bytewise, one a line. The package comment says where
// they come from and how to rebuild the file. It is embedded compressed
// because every bootstrap carries it and size is a goal
// (docs/performance.md); a test keeps it equal to the text file.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGzip []byte

var (
	commonOnce sync.Once
	commonList []string
)

// commonPasswords returns the sorted list, decompressing and splitting the
// embedded file on first use rather than at init, so a cold start that
// serves no reset does not pay for it.
func commonPasswords() []string {
	commonOnce.Do(func() {
		commonList = parseCommonPasswords(gunzip(commonPasswordsGzip))
	})
	return commonList
}

// gunzip decompresses the embedded list. It cannot fail on the file the
// build embedded (TestEmbeddedListMatchesText reads it the same way), so a
// failure is a broken build, not a runtime condition.
func gunzip(b []byte) string {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		panic("password: embedded common-password list: " + err.Error())
	}
	text, err := io.ReadAll(r)
	if err != nil {
		panic("password: embedded common-password list: " + err.Error())
	}
	return string(text)
}

func parseCommonPasswords(file string) []string {
	_, body, _ := strings.Cut(file, "\n\n")
	return strings.Split(strings.TrimSuffix(body, "\n"), "\n")
}

// isCommon reports whether plain, ignoring case, is on the list.
func isCommon(plain string) bool {
	_, found := slices.BinarySearch(commonPasswords(), strings.ToLower(plain))
	return found
}
