package reset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseEmail trims and lower-cases an email and refuses anything but a
// single plain address. The result is a lookup key only: mail goes to the
// address stored on the account.
//
// It is strict on purpose. Lists ("a@x, b@y"), CR/LF, display names and
// non-ASCII look-alikes have each been the way into someone else's reset
// elsewhere; a real address needs none of them.
func ParseEmail(s string) (string, error) {
	// Only spaces and tabs are trimmed: a CR or LF anywhere is refused.
	e := strings.Trim(s, " \t")
	if len(e) < 3 || len(e) > 254 {
		return "", ErrInvalidEmail
	}
	// ASCII is checked before lower-casing, because Unicode lower-cases a
	// few non-ASCII capitals to ASCII letters (KELVIN SIGN to "k").
	for i := 0; i < len(e); i++ {
		if e[i] >= 0x80 {
			return "", ErrInvalidEmail
		}
	}
	e = strings.ToLower(e)
	at := strings.IndexByte(e, '@')
	if at < 1 || at != strings.LastIndexByte(e, '@') || at > 64 {
		return "", ErrInvalidEmail
	}
	local, domain := e[:at], e[at+1:]
	for i := 0; i < len(local); i++ {
		if !localChar(local[i]) {
			return "", ErrInvalidEmail
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return "", ErrInvalidEmail
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return "", ErrInvalidEmail
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", ErrInvalidEmail
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return "", ErrInvalidEmail
			}
		}
	}
	return e, nil
}

// localChar is RFC 5322's atext plus the dot, less "%": no space, comma,
// semicolon, quote, angle bracket or control character can pass, and no
// "%", which old relays read as source routing and which a double-encoded
// path would otherwise carry in.
func localChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&'*+-/=?^_`{|}~.", c) >= 0
}

// ParseUsername trims a user name and refuses one that is empty, too long,
// or holds a control character, '@' or white space. Case is kept: user
// names are matched as stored.
func ParseUsername(s string) (string, error) {
	u := strings.TrimSpace(s)
	if u == "" || utf8.RuneCountInString(u) > 64 || !utf8.ValidString(u) {
		return "", ErrInvalidUsername
	}
	for _, r := range u {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '@' {
			return "", ErrInvalidUsername
		}
	}
	return u, nil
}

// Lookup names an account by email or by user name, as parsed by
// ParseEmail and ParseUsername. Email wins when both are set.
type Lookup struct {
	Email    string
	Username string
}

// find looks the account up. ok is false for an unknown account; an
// inactive account is returned with Active false.
func (s *Service) find(ctx context.Context, l Lookup) (acct Account, ok bool, err error) {
	if l.Email != "" {
		acct, err = s.store.AccountByEmail(ctx, l.Email)
	} else {
		acct, err = s.store.AccountByUsername(ctx, l.Username)
	}
	if errors.Is(err, ErrUnknownAccount) {
		return Account{}, false, nil
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("find account: %w", err)
	}
	return acct, true, nil
}

// subject is the key an account's codes and counters are kept under: a
// keyed hash of its email, or of what was asked for when no account
// answered, so that an unknown account has limits of its own and records
// of the same shape as a known one's, and the table tells nobody who asked.
func (s *Service) subject(ctx context.Context, acct Account, known bool, l Lookup) (string, error) {
	key, err := s.keys.Current(ctx)
	if err != nil {
		return "", fmt.Errorf("subject key: %w", err)
	}
	switch {
	case known:
		return mac(key, "subject", "email", strings.ToLower(acct.Email)), nil
	case l.Email != "":
		return mac(key, "subject", "email", l.Email), nil
	default:
		return mac(key, "subject", "username", l.Username), nil
	}
}
