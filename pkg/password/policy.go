package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The contract's length limits, in Unicode code points.
const (
	defaultMinLength = 8
	defaultMaxLength = 128
)

// ReasonSameAsCurrent is the Rejection reason of CheckNotCurrent.
const ReasonSameAsCurrent = "New password must be different from the current password."

// The other reasons a new password is refused, shown to the user as they are.
const (
	reasonTooShort    = "Password must be at least %d characters."
	reasonTooLong     = "Password must be at most %d characters."
	reasonBcryptBytes = "Password must be at most 72 bytes."
	reasonCommon      = "Password is too common. Choose a less common password."
	reasonIdentity    = "Password must not be your email or user name."
	reasonCharacters  = "Password contains characters that are not allowed."
)

// Rejection is the error Policy returns when it refuses a password. Reason is
// a user-facing sentence ending in a period, safe to put in a response: it
// never quotes the password. Rule names the rule that refused, one of the
// Rule constants, for the operators' metrics: a sentence, which a policy
// setting can change, would make a poor metric dimension.
type Rejection struct {
	Reason string
	Rule   string
}

// The rules a new password can be refused by, as Rejection.Rule.
const (
	RuleCharacters    = "Characters"    // invalid UTF-8 or a control character
	RuleTooShort      = "TooShort"      // fewer code points than MinLength
	RuleTooLong       = "TooLong"       // more code points than MaxLength
	RuleTooManyBytes  = "TooManyBytes"  // over bcrypt's 72 bytes
	RuleIdentity      = "Identity"      // the account's email, its local part, or user name
	RuleCommon        = "Common"        // on the common-password list
	RuleBreached      = "Breached"      // known from a data breach (Pwned)
	RuleSameAsCurrent = "SameAsCurrent" // the account's current password
)

// Error returns the Reason.
func (r *Rejection) Error() string { return r.Reason }

// Policy is the contract's new-password policy. The zero Policy is the
// contract's default: 8 to 128 characters, stored with Argon2id.
type Policy struct {
	// MinLength is the fewest code points a password may have; 0 means 8.
	// Below 8 is outside the contract, and the common-password list holds
	// only passwords of 8 or more characters, so shorter ones would pass it.
	MinLength int
	// MaxLength is the most code points a password may have; 0 means 128.
	MaxLength int
	// Algorithm is how the password will be stored. Bcrypt adds the 72-byte
	// limit; "" means Argon2id.
	Algorithm Algorithm
}

// Check returns nil if plain may be a new password, or a *Rejection saying
// why not. Lengths count Unicode code points; plain is never truncated,
// trimmed or case-folded, and there are no composition rules (NIST SP 800-63B
// §5.1.1.2). identities are the account's email and user name, either of which
// may be "": plain must not equal one of them, nor an email's local part,
// ignoring case.
func (p Policy) Check(plain string, identities ...string) error {
	// Invalid UTF-8 would make code points meaningless, and control
	// characters (NUL, newline, escapes) cannot be typed reliably and break
	// other systems that receive the password.
	if !utf8.ValidString(plain) || strings.ContainsFunc(plain, unicode.IsControl) {
		return &Rejection{Reason: reasonCharacters, Rule: RuleCharacters}
	}
	n := utf8.RuneCountInString(plain)
	if minLen := p.minLength(); n < minLen {
		return &Rejection{Reason: fmt.Sprintf(reasonTooShort, minLen), Rule: RuleTooShort}
	}
	if maxLen := p.maxLength(); n > maxLen {
		return &Rejection{Reason: fmt.Sprintf(reasonTooLong, maxLen), Rule: RuleTooLong}
	}
	// bcrypt ignores every byte after the 72nd: refuse rather than store a
	// hash that a different password with the same first 72 bytes matches.
	if p.Algorithm == Bcrypt && len(plain) > bcryptMaxPasswordBytes {
		return &Rejection{Reason: reasonBcryptBytes, Rule: RuleTooManyBytes}
	}
	if isIdentity(plain, identities) {
		return &Rejection{Reason: reasonIdentity, Rule: RuleIdentity}
	}
	if isCommon(plain) {
		return &Rejection{Reason: reasonCommon, Rule: RuleCommon}
	}
	return nil
}

// CheckNotCurrent returns a *Rejection with ReasonSameAsCurrent if plain is the
// password storedHash was made from. storedHash is the account's stored hash
// in either format Verify reads; "" means the account has no password yet, and
// there is nothing to compare with. An error from Verify (a malformed stored
// hash) is returned wrapped, not as a Rejection: it is not the user's fault.
func (p Policy) CheckNotCurrent(plain, storedHash string) error {
	if storedHash == "" {
		return nil
	}
	same, err := Verify(storedHash, plain)
	if err != nil {
		return fmt.Errorf("compare with current password: %w", err)
	}
	if same {
		return &Rejection{Reason: ReasonSameAsCurrent, Rule: RuleSameAsCurrent}
	}
	return nil
}

func (p Policy) minLength() int {
	if p.MinLength <= 0 {
		return defaultMinLength
	}
	return p.MinLength
}

func (p Policy) maxLength() int {
	if p.MaxLength <= 0 {
		return defaultMaxLength
	}
	return p.MaxLength
}

// isIdentity reports whether plain equals, ignoring case, one of identities
// or the local part of one that is an email address.
func isIdentity(plain string, identities []string) bool {
	for _, id := range identities {
		if id == "" {
			continue
		}
		if strings.EqualFold(plain, id) {
			return true
		}
		// The local part is what precedes the last "@": a quoted local part
		// may itself hold an "@", a domain never does.
		if at := strings.LastIndexByte(id, '@'); at > 0 && strings.EqualFold(plain, id[:at]) {
			return true
		}
	}
	return false
}

// Reasons are the reasons p refuses a password for, by Rule, worded
// exactly as its Rejections and the breach check word them: the reset page
// finds a JSON answer's reason here to show it in the reader's language.
func (p Policy) Reasons() map[string]string {
	return map[string]string{
		RuleCharacters:    reasonCharacters,
		RuleTooShort:      fmt.Sprintf(reasonTooShort, p.minLength()),
		RuleTooLong:       fmt.Sprintf(reasonTooLong, p.maxLength()),
		RuleTooManyBytes:  reasonBcryptBytes,
		RuleIdentity:      reasonIdentity,
		RuleCommon:        reasonCommon,
		RuleBreached:      ReasonBreached,
		RuleSameAsCurrent: ReasonSameAsCurrent,
	}
}
