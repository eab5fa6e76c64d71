package reset

import (
	"strings"
	"time"
)

// CodeRecord is an account's one live code. There is at most one per
// subject: issuing a new code replaces it.
type CodeRecord struct {
	// Subject names the account in the codes table: a keyed hash of its
	// email, so that unknown emails get a record of the same shape.
	Subject string
	// AccountID is the users table key; empty on the decoy record written
	// for an unknown or inactive account.
	AccountID string
	// ID is drawn afresh for each code; consuming a code is conditioned on
	// it, so a superseded or used code never works.
	ID             string
	Hash           CodeHash
	KeyID          string
	ExpiresAt      time.Time
	Attempts       int   // guesses counted so far, this one included
	SessionVersion int64 // the account's session_version when issued
	Device         string
	// Owner names the account-wide state the record answers to (see
	// Service.owner): only the owner's latest record can be used.
	Owner string
	// Recipient is a keyed hash of the address the code was mailed to: the
	// code works only while the account's stored email is still it.
	Recipient string
}

// LinkRecord is an account's one live link.
type LinkRecord struct {
	Hash           TokenHash
	Subject        string
	AccountID      string // empty on a decoy record
	SessionVersion int64
	ExpiresAt      time.Time
	Owner          string // as in CodeRecord
	// Recipient is a hash of the token and the address the link was mailed
	// to: the link works only while the account's stored email is still
	// it. The token keys it, so a reader of the table learns no address and
	// the function that resets with a link needs no HMAC key.
	Recipient string
}

// linkURL builds the mailed link from configuration only, never from the
// request's Host or forwarding headers.
func linkURL(base string, t Token) string {
	if strings.Contains(base, "{token}") {
		return strings.ReplaceAll(base, "{token}", t.Reveal())
	}
	return strings.TrimRight(base, "/") + "/" + t.Reveal()
}

// Receipt is what a completed reset leaves behind for retryWindow, so that
// its client, repeating the request after a timeout, gets the success it
// already had instead of "invalid or expired" (retry.go). It holds no
// password and no code: only a keyed hash of the code or token used and of
// the new password, which tells nothing without both.
type Receipt struct {
	// Of names what it is the receipt of: a name's code (ReceiptOfCode)
	// or a link or grant token (ReceiptOfToken).
	Of string
	// KeyID is the code key MAC was made with; "" when the token itself
	// keys it.
	KeyID string
	// RecordID is the used code's record id; "" for a token.
	RecordID string
	MAC      string
	// Until is when the receipt stops answering, checked on every read:
	// TTL deletes it late.
	Until time.Time
}
