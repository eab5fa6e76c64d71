package password

import (
	_ "embed"
	"slices"
	"strings"
	"sync"
)

// commonPasswordsFile is a header of "#" lines, an empty line, then the common
// passwords of 8 or more characters, lower-case, sorted bytewise, one a line.
// The package comment says where they come from and how to rebuild the file.
//
//go:embed common-passwords.txt
var commonPasswordsFile string

var (
	commonOnce sync.Once
	commonList []string
)

// commonPasswords returns the sorted list, splitting the embedded file on
// first use rather than at init, so a cold start that serves no reset does
// not pay for it. The strings share the embedded file's bytes: the only
// allocation is the slice of headers.
func commonPasswords() []string {
	commonOnce.Do(func() {
		commonList = parseCommonPasswords(commonPasswordsFile)
	})
	return commonList
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
