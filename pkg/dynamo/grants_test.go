package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/reset"
)

// ExchangeCode: a right code becomes a grant in one transaction, on the
// conditions ConsumeCode puts on the code, or nothing is written.
func TestExchangeCode(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}
	counted := func(t *testing.T, acct reset.Account) (reset.CodeRecord, reset.LinkRecord) {
		t.Helper()
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), send, t0))
		rec, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantNil(t, "guess", err)
		grant, _ := linkRec(sub, acct.ID, 0, t0.Add(5*time.Minute))
		grant.Owner = rec.Owner
		return rec, grant
	}

	t.Run("right code: exchanged once", func(t *testing.T) {
		acct := putAccount(t, e)
		rec, grant := counted(t, acct)
		wantNil(t, "exchange", e.store.ExchangeCode(ctx, rec, grant, guess, t0))
		st := e.state(t, rec.Subject)
		if _, ok := st["code_id"]; ok {
			t.Error("code_id still stored after the exchange")
		}
		if got := inSpan(st, "failed", 20, 24*time.Hour, t0); got != 0 {
			t.Errorf("failures after a right guess: got %d, want 0", got)
		}
		if latest, _ := e.store.IsLatest(ctx, rec.Owner, string(grant.Hash)); !latest {
			t.Error("the grant is not the account's latest")
		}
		found, err := e.store.FindLink(ctx, grant.Hash, t0)
		wantNil(t, "find the grant", err)
		if found.AccountID != acct.ID || !found.ExpiresAt.Equal(grant.ExpiresAt) {
			t.Errorf("grant found: %+v, want %+v", found, grant)
		}
		again, _ := linkRec(rec.Subject, acct.ID, 0, t0.Add(5*time.Minute))
		again.Owner = rec.Owner
		wantIs(t, "exchange again", e.store.ExchangeCode(ctx, rec, again, guess, t0), reset.ErrInvalidCode)
		_, err = e.store.FindLink(ctx, again.Hash, t0)
		wantIs(t, "the refused exchange's grant", err, reset.ErrInvalidToken)
		// The grant sets the password once, leaving its receipt.
		done := reset.Receipt{Of: "token#" + string(grant.Hash), MAC: randHex(32), Until: t0.Add(2 * time.Minute)}
		wantNil(t, "consume the grant", e.store.ConsumeLink(ctx, grant, acct, "new-hash", done, t0))
		wantIs(t, "consume it again", e.store.ConsumeLink(ctx, grant, acct, "newer-hash", reset.Receipt{}, t0), reset.ErrInvalidToken)
		got, ok, err := e.store.FindReceipt(ctx, done.Of, t0.Add(2*time.Minute-time.Second))
		wantNil(t, "find the receipt", err)
		if !ok || got.MAC != done.MAC || !got.Until.Equal(done.Until) {
			t.Errorf("receipt: %+v %v, want %+v", got, ok, done)
		}
		if _, ok, _ := e.store.FindReceipt(ctx, done.Of, done.Until); ok {
			t.Error("the receipt answers at its Until")
		}
	})

	t.Run("superseded, claimed or expired: nothing written", func(t *testing.T) {
		acct := putAccount(t, e)
		rec, grant := counted(t, acct)
		wantNil(t, "claim", e.store.ClaimCode(ctx, rec, t0, 30*time.Second))
		wantIs(t, "exchange a claimed code", e.store.ExchangeCode(ctx, rec, grant, guess, t0), reset.ErrInvalidCode)
		wantIs(t, "exchange at expiry", e.store.ExchangeCode(ctx, rec, grant, guess, rec.ExpiresAt), reset.ErrInvalidCode)
		wantNil(t, "issue newer", e.issueCode(t, codeRec(rec.Subject, acct.ID, t0.Add(10*time.Minute)), send, t0))
		wantIs(t, "exchange superseded", e.store.ExchangeCode(ctx, rec, grant, guess, t0.Add(time.Minute)), reset.ErrInvalidCode)
		_, err := e.store.FindLink(ctx, grant.Hash, t0)
		wantIs(t, "a refused exchange's grant", err, reset.ErrInvalidToken)
	})
}

// A refused consume or finish writes no receipt.
func TestReceiptOnlyWithSuccess(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}
	acct := putAccount(t, e)
	sub := "sub-" + randHex(4)
	wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), send, t0))
	rec, err := e.store.CountGuess(ctx, sub, guess, t0)
	wantNil(t, "guess", err)
	done := reset.Receipt{Of: "code#" + sub, KeyID: "k1", RecordID: rec.ID, MAC: randHex(32), Until: t0.Add(2 * time.Minute)}
	wantNil(t, "set password elsewhere", e.store.SetPassword(ctx, acct.ID, "admin-hash", t0))
	wantIs(t, "consume after a password change", e.store.ConsumeCode(ctx, rec, acct, "new-hash", done, guess, t0), reset.ErrInvalidCode)
	if _, ok, _ := e.store.FindReceipt(ctx, done.Of, t0); ok {
		t.Error("a refused consume left a receipt")
	}
	// Finished by a two-phase reset: the receipt goes with it, once.
	wantNil(t, "finish", e.store.FinishCode(ctx, rec, done, guess))
	got, ok, err := e.store.FindReceipt(ctx, done.Of, t0)
	wantNil(t, "find", err)
	if !ok || got.RecordID != rec.ID || got.KeyID != "k1" || got.MAC != done.MAC {
		t.Errorf("receipt after the finish: %+v %v", got, ok)
	}
	other := done
	other.Of, other.MAC = "code#other-"+sub, randHex(32)
	wantNil(t, "finish again", e.store.FinishCode(ctx, rec, other, guess))
	if _, ok, _ := e.store.FindReceipt(ctx, other.Of, t0); ok {
		t.Error("a finish with nothing to finish left a receipt")
	}
}
