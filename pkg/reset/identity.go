package reset

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email is an address as ParseEmail made it: trimmed, lower-cased, a
// single plain ASCII address. Nothing else makes one, so whatever holds an
// Email holds a checked address; the zero Email is none.
type Email struct{ addr string }

// String returns the address.
func (e Email) String() string { return e.addr }

// LogValue keeps the address out of log lines: an email has no place there.
func (e Email) LogValue() slog.Value { return slog.StringValue("[email]") }

// ParseEmail trims and lower-cases an email and refuses anything but a
// single plain address. The result is a lookup key only: mail goes to the
// address stored on the account.
//
// It is strict on purpose. Lists ("a@x, b@y"), CR/LF, display names and
// non-ASCII look-alikes have each been the way into someone else's reset
// elsewhere; a real address needs none of them.
func ParseEmail(s string) (Email, error) {
	// Only spaces and tabs are trimmed: a CR or LF anywhere is refused.
	e := strings.Trim(s, " \t")
	if len(e) < 3 || len(e) > 254 {
		return Email{}, ErrInvalidEmail
	}
	// ASCII is checked before lower-casing, because Unicode lower-cases a
	// few non-ASCII capitals to ASCII letters (KELVIN SIGN to "k").
	for i := 0; i < len(e); i++ {
		if e[i] >= 0x80 {
			return Email{}, ErrInvalidEmail
		}
	}
	e = strings.ToLower(e)
	at := strings.IndexByte(e, '@')
	if at < 1 || at != strings.LastIndexByte(e, '@') || at > 64 {
		return Email{}, ErrInvalidEmail
	}
	local, domain := e[:at], e[at+1:]
	for i := 0; i < len(local); i++ {
		if !localChar(local[i]) {
			return Email{}, ErrInvalidEmail
		}
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return Email{}, ErrInvalidEmail
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return Email{}, ErrInvalidEmail
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return Email{}, ErrInvalidEmail
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return Email{}, ErrInvalidEmail
			}
		}
	}
	return Email{addr: e}, nil
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
	Email    Email
	Username string
}

// find looks the account up. ok is false for an unknown account; an
// inactive account is returned with Active false. A name that more than
// one account answers to is unknown: picking one would mail a stranger,
// and a 500 would say the name exists.
func (s *Service) find(ctx context.Context, l Lookup) (acct Account, ok bool, err error) {
	if l.Email != (Email{}) {
		acct, err = s.accounts.AccountByEmail(ctx, l.Email.String())
	} else {
		acct, err = s.accounts.AccountByUsername(ctx, l.Username)
	}
	if errors.Is(err, ErrAmbiguousAccount) {
		s.log.WarnContext(ctx, "more than one account has the name asked for; answered as unknown", "by", l.kind())
		return Account{}, false, nil
	}
	if errors.Is(err, ErrUnknownAccount) {
		return Account{}, false, nil
	}
	if err != nil {
		return Account{}, false, fmt.Errorf("find account: %w", err)
	}
	return acct, true, nil
}

// kind says which name a Lookup holds, for keys and logs.
func (l Lookup) kind() string {
	if l.Email != (Email{}) {
		return "email"
	}
	return "username"
}

func (l Lookup) name() string {
	if l.Email != (Email{}) {
		return l.Email.String()
	}
	return l.Username
}

// subject is the key a name's codes and counters are kept under: a keyed
// hash of the name asked for, the email or the user name, never of the
// account it leads to. Everything a caller can see the effect of (a 429,
// "no code", a wrong code) is kept under it, so nothing done through one
// name shows through another: asking by user name cannot tell whether it
// belongs to an email, or to anyone. The key is the Keys' subject key,
// which a rotation of the code key leaves alone.
func subject(key Key, l Lookup) string {
	return mac(key, "subject", l.kind(), l.name())
}

// owner is the key of the account-wide state behind a name: the account's
// when the name leads to an active account, and otherwise a decoy of the
// name's own, so that an unknown name makes the same writes. It holds the
// rules no answer may show: which record is the account's one live secret,
// and the account-wide send and failure limits across its names.
func owner(key Key, to recipient) string {
	if !to.mail {
		return mac(key, "decoy", to.subject)
	}
	return mac(key, "account", to.acct.ID)
}

// codeRecipient binds a code to the address it was mailed to.
func codeRecipient(key Key, email string) string {
	return mac(key, "recipient", strings.ToLower(email))
}

// linkRecipient binds a link to the address it was mailed to, keyed by the
// token itself (see LinkRecord.Recipient).
func linkRecipient(t Token, email string) string {
	return mac(Key{Secret: []byte(t)}, "recipient", strings.ToLower(email))
}
