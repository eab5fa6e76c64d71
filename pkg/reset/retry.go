package reset

import (
	"context"
	"crypto/hmac"
	"time"
)

// Safe to retry: a client whose completion timed out cannot know whether
// the password changed, and repeats the request. The code, link or grant
// is used up by then, so the repeat would be told "invalid or expired"
// for a reset that worked. A completion therefore leaves a Receipt, in the
// same transaction (or finish step) that changes the password, and for
// retryWindow the very same request (the same code or token and the same
// new password) is answered with the success it had.
//
// What the receipt holds is a keyed hash of the code or token and the new
// password, never either of them: for a code, HMAC with the service's code
// key over the name, the code's record id, the code and the password; for
// a link or grant, HMAC keyed by the 256-bit token itself, which is stored
// nowhere (only its SHA-256 is). A reader of the tokens table can test no
// password against it: without the key or the token, the hash is noise.
// Nor is the answer a password oracle: to be told "success" a caller must
// send the code or token, which only its owner had and which already set
// the password, and the new password itself; a wrong password or an old
// receipt is refused as any used code or link is.
//
// A repeat moves nothing: no guess is counted (the code is gone, so the
// guess is never counted or compared), no counter is given back or taken,
// no mail goes out and no sessions are ended again. It still counts as a
// request against the per-IP limit, which every completion takes before
// anything else: a client that repeats is making requests.

// What a receipt stands for, and what not: that this very request set
// the password once, within retryWindow. It is not that the password is
// still the one it set. Within the window a password changed since (by
// another reset, or elsewhere: the service is not told) leaves the
// receipt standing, and its repeat is still told "success", though it
// changes nothing. Support.Compromised deletes the receipts it can find
// from what it knows (the names' codes, the owner's latest and the names'
// newest links), so a repeat after it is refused; one of a link an older
// record replaced is not found and stands until its window ends.
//
// A repeat is recognised only after a success that was recorded: a
// two-phase completion (webhook, Cognito) whose set-password answer was
// lost (a timeout) leaves no receipt, so its repeat is refused as
// invalid. A verify leaves none either: its code is exchanged, and a
// client that lost the grant asks for a new code.

// retryWindow is how long after a success its repeat is answered with
// it: longer than any client's timeout and retry, and short, since a
// receipt may outlive the password it set (above).
const retryWindow = 2 * time.Minute

// ReceiptOfCode names the receipt of the code of a name (subject): a
// name has one code at a time, so one receipt.
func ReceiptOfCode(subject string) string { return "code#" + subject }

// ReceiptOfToken names the receipt of a link or grant by its stored hash.
func ReceiptOfToken(h TokenHash) string { return "token#" + string(h) }

// codeReceipt is the receipt a code reset leaves, keyed with the code key.
func codeReceipt(key Key, rec CodeRecord, code Code, newPassword string, now time.Time) Receipt {
	return Receipt{
		Of:       ReceiptOfCode(rec.Subject),
		KeyID:    key.ID,
		RecordID: rec.ID,
		MAC:      mac(key, "receipt", rec.Subject, rec.ID, string(code), newPassword),
		Until:    now.Add(retryWindow),
	}
}

// tokenReceipt is the receipt a link or grant reset leaves, keyed by the
// token, which the table does not hold (so the link function needs no
// HMAC key, as with linkRecipient).
func tokenReceipt(t Token, h TokenHash, newPassword string, now time.Time) Receipt {
	return Receipt{
		Of:    ReceiptOfToken(h),
		MAC:   mac(Key{Secret: []byte(t)}, "receipt", newPassword),
		Until: now.Add(retryWindow),
	}
}

// repeatsCodeReset reports whether req repeats a code reset that
// succeeded within retryWindow. It is asked only once the name was found
// to have no code, for every name alike, so an unknown name takes the
// same calls.
func (s *Service) repeatsCodeReset(ctx context.Context, l Lookup, code Code, newPassword string, now time.Time) bool {
	subjectKey, err := s.keys.Subject(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "retry: subject key", "error", err)
		return false
	}
	subject := subject(subjectKey, l)
	return s.repeats(ctx, ReceiptOfCode(subject), now, func(r Receipt) (string, bool) {
		key, err := s.keys.ByID(ctx, r.KeyID)
		if err != nil {
			s.log.WarnContext(ctx, "retry: code key", "kid", r.KeyID, "error", err)
			return "", false
		}
		return mac(key, "receipt", subject, r.RecordID, string(code), newPassword), true
	})
}

// repeatsTokenReset reports whether a reset with the link or grant t, its
// stored hash h, and newPassword repeats one that succeeded within
// retryWindow.
func (s *Service) repeatsTokenReset(ctx context.Context, t Token, h TokenHash, newPassword string, now time.Time) bool {
	return s.repeats(ctx, ReceiptOfToken(h), now, func(Receipt) (string, bool) {
		return mac(Key{Secret: []byte(t)}, "receipt", newPassword), true
	})
}

// repeats reads the receipt of, and compares the MAC this request would
// have left with the stored one in constant time. A failure to read is a
// refusal: the request is answered as it would have been without receipts.
func (s *Service) repeats(ctx context.Context, of string, now time.Time, want func(Receipt) (string, bool)) bool {
	r, ok, err := s.store.FindReceipt(ctx, of, now)
	if err != nil {
		s.log.WarnContext(ctx, "retry: read receipt", "error", err)
		return false
	}
	// The store refuses a receipt past Until; checking it here too keeps
	// the rule where the answer is made.
	if !ok || !r.Until.After(now) {
		return false
	}
	m, ok := want(r)
	if !ok || !hmac.Equal([]byte(m), []byte(r.MAC)) {
		return false
	}
	return true
}
