package dynamo_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// claimFor is the flows' (reset.claimFor): how long a claim holds.
const claimFor = 30 * time.Second

// item reads the tokens table's item pk.
func (e storeEnv) item(t *testing.T, pk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.tokens),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func TestClaimCode(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}
	issue := func(t *testing.T, sub string) reset.CodeRecord {
		t.Helper()
		rec := codeRec(sub, "a1", t0.Add(10*time.Minute))
		wantNil(t, "issue", e.issueCode(t, rec, send, t0))
		return rec
	}

	t.Run("one claim at a time, until it runs out", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4))
		wantNil(t, "claim", e.store.ClaimCode(ctx, rec, t0, claimFor))
		wantIs(t, "second claim", e.store.ClaimCode(ctx, rec, t0, claimFor), reset.ErrInvalidCode)
		wantIs(t, "claim a second before it runs out", e.store.ClaimCode(ctx, rec, t0.Add(claimFor-time.Second), claimFor), reset.ErrInvalidCode)
		wantNil(t, "claim once it ran out", e.store.ClaimCode(ctx, rec, t0.Add(claimFor), claimFor))
	})

	t.Run("expired", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4))
		wantIs(t, "claim at expiry", e.store.ClaimCode(ctx, rec, rec.ExpiresAt, claimFor), reset.ErrInvalidCode)
		wantNil(t, "claim at expiry-1s", e.store.ClaimCode(ctx, rec, rec.ExpiresAt.Add(-time.Second), claimFor))
	})

	t.Run("superseded on its name", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		old := issue(t, sub)
		newer := issue(t, sub)
		wantIs(t, "claim the replaced code", e.store.ClaimCode(ctx, old, t0, claimFor), reset.ErrInvalidCode)
		wantNil(t, "claim the newer code", e.store.ClaimCode(ctx, newer, t0, claimFor))
	})

	t.Run("replaced on its name, still the account's latest", func(t *testing.T) {
		// A send the account-wide limit withholds writes its code on the
		// name but leaves the owner's latest alone (see issue): the
		// replaced code is still the latest, and only its id refuses it.
		limit := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}}
		owner := "o-" + randHex(4)
		other := "sub-" + randHex(4)
		for range 2 {
			wantNil(t, "issue by the other name", e.issueCode(t, owned(codeRec(other, "a1", t0.Add(10*time.Minute)), owner), limit, t0))
		}
		sub := "sub-" + randHex(4)
		live := owned(codeRec(sub, "a1", t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue the live code", e.issueCode(t, live, limit, t0))
		withheld := owned(codeRec(sub, "a1", t0.Add(10*time.Minute)), owner)
		mail, err := e.store.IssueCode(ctx, withheld, limit, t0)
		wantNil(t, "issue over the account's limit", err)
		if latest, _ := e.store.IsLatest(ctx, owner, live.ID); mail || !latest {
			t.Fatalf("over the account's limit: mail %v, live code latest %v; want false, true", mail, latest)
		}
		wantIs(t, "claim the replaced code", e.store.ClaimCode(ctx, live, t0, claimFor), reset.ErrInvalidCode)
		wantIs(t, "claim the withheld code", e.store.ClaimCode(ctx, withheld, t0, claimFor), reset.ErrInvalidCode)
	})

	t.Run("no longer its account's latest", func(t *testing.T) {
		// The code is still on its name, live and unclaimed; only the
		// owner's item, where another name's code is now the latest,
		// refuses it.
		owner := "o-" + randHex(4)
		byEmail := owned(codeRec("sub-"+randHex(4), "a1", t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue by email", e.issueCode(t, byEmail, send, t0))
		byName := owned(codeRec("sub-"+randHex(4), "a1", t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue by user name", e.issueCode(t, byName, send, t0))
		wantIs(t, "claim the earlier code", e.store.ClaimCode(ctx, byEmail, t0, claimFor), reset.ErrInvalidCode)
		wantNil(t, "claim the latest", e.store.ClaimCode(ctx, byName, t0, claimFor))
	})

	t.Run("released, claimed again", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4))
		wantNil(t, "claim", e.store.ClaimCode(ctx, rec, t0, claimFor))
		wantNil(t, "release", e.store.ReleaseCode(ctx, rec))
		wantNil(t, "claim after release", e.store.ClaimCode(ctx, rec, t0, claimFor))
	})

	t.Run("release of a replaced code leaves the newer one's claim", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		old := issue(t, sub)
		newer := issue(t, sub)
		wantNil(t, "claim the newer code", e.store.ClaimCode(ctx, newer, t0, claimFor))
		wantNil(t, "release the replaced code", e.store.ReleaseCode(ctx, old))
		wantIs(t, "claim the newer code again", e.store.ClaimCode(ctx, newer, t0, claimFor), reset.ErrInvalidCode)
	})

	t.Run("a new code is unclaimed", func(t *testing.T) {
		// A claim whose finish and release both failed must not hold the
		// code that replaces it.
		sub := "sub-" + randHex(4)
		old := issue(t, sub)
		wantNil(t, "claim", e.store.ClaimCode(ctx, old, t0, claimFor))
		newer := issue(t, sub)
		wantNil(t, "claim the new code", e.store.ClaimCode(ctx, newer, t0, claimFor))
	})

	t.Run("ConsumeCode refuses a claimed code", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), send, t0))
		rec, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantNil(t, "guess", err)
		wantNil(t, "claim", e.store.ClaimCode(ctx, rec, t0, claimFor))
		wantIs(t, "consume while claimed", e.store.ConsumeCode(ctx, rec, acct, "new-hash", reset.Receipt{}, guess, t0.Add(claimFor-time.Second)), reset.ErrInvalidCode)
		if got, _ := e.store.AccountByID(ctx, acct.ID); got.PasswordHash != "old-hash" {
			t.Errorf("password after a refused consume: got %q, want old-hash", got.PasswordHash)
		}
		wantNil(t, "consume once the claim ran out", e.store.ConsumeCode(ctx, rec, acct, "new-hash", reset.Receipt{}, guess, t0.Add(claimFor)))
	})
}

// FinishCode deletes the code and gives the right guess's failure back,
// on the name and on the owner, once. The failure budget here groups
// events (Max 64: two a place), so that the count goes down by one per
// uncount and a second uncount would show; with one event a place an
// uncount only zeroes the newest place, and doing it twice looks like
// doing it once.
func TestFinishCode(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 64, Window: 24 * time.Hour}}
	const newestGroup = "failed_31n" // 64 events in 32 places of 2
	// guessed counts a wrong guess and then the right one, as the flow
	// does (on the name and on the owner), and returns the code as the
	// right guess read it.
	guessed := func(t *testing.T, sub string) reset.CodeRecord {
		t.Helper()
		var rec reset.CodeRecord
		for range 2 {
			var err error
			rec, err = e.store.CountGuess(ctx, sub, guess, t0)
			wantNil(t, "guess", err)
			counted, _, err := e.store.CountOwnerFailure(ctx, rec.Owner, guess.Failures, t0)
			wantNil(t, "count on the owner", err)
			if !counted {
				t.Fatal("guess not counted on the owner")
			}
		}
		return rec
	}
	failures := func(t *testing.T, rec reset.CodeRecord) (name, owner string) {
		t.Helper()
		return num(e.state(t, rec.Subject), newestGroup), num(e.item(t, "owner#"+rec.Owner), newestGroup)
	}

	t.Run("deletes the code and uncounts once", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, "a1", t0.Add(10*time.Minute)), send, t0))
		rec := guessed(t, sub)
		if name, owner := failures(t, rec); name != "2" || owner != "2" {
			t.Fatalf("failures before finish (name, owner): got %s, %s; want 2, 2", name, owner)
		}
		wantNil(t, "claim", e.store.ClaimCode(ctx, rec, t0, claimFor))
		wantNil(t, "finish", e.store.FinishCode(ctx, rec, reset.Receipt{}, guess))
		if name, owner := failures(t, rec); name != "1" || owner != "1" {
			t.Errorf("failures after finish (name, owner): got %s, %s; want 1, 1 (the wrong guess)", name, owner)
		}
		st := e.state(t, sub)
		for _, attr := range []string{"code_id", "code_claimed_until"} {
			if _, ok := st[attr]; ok {
				t.Errorf("%s still stored after finish", attr)
			}
		}
		_, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantIs(t, "guess after finish", err, reset.ErrNoCode)

		wantNil(t, "finish again", e.store.FinishCode(ctx, rec, reset.Receipt{}, guess))
		if name, owner := failures(t, rec); name != "1" || owner != "1" {
			t.Errorf("failures after a second finish (name, owner): got %s, %s; want 1, 1", name, owner)
		}
		wantIs(t, "claim a finished code", e.store.ClaimCode(ctx, rec, t0, claimFor), reset.ErrInvalidCode)
	})

	t.Run("leaves a newer code alone", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, "a1", t0.Add(10*time.Minute)), send, t0))
		rec := guessed(t, sub)
		wantNil(t, "claim", e.store.ClaimCode(ctx, rec, t0, claimFor))
		newer := codeRec(sub, "a1", t0.Add(10*time.Minute))
		newer.Owner = rec.Owner
		wantNil(t, "issue newer", e.issueCode(t, newer, send, t0))
		wantNil(t, "finish the replaced code", e.store.FinishCode(ctx, rec, reset.Receipt{}, guess))
		if name, owner := failures(t, rec); name != "2" || owner != "2" {
			t.Errorf("failures (name, owner): got %s, %s; want 2, 2 (nothing finished)", name, owner)
		}
		wantNil(t, "claim the newer code", e.store.ClaimCode(ctx, newer, t0, claimFor))
	})
}

// Every goroutine claims the same code at once: exactly one gets it.
func TestClaimCodeConcurrent(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	rec := codeRec("sub-"+randHex(4), "a1", t0.Add(10*time.Minute))
	wantNil(t, "issue", e.issueCode(t, rec, reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}}, t0))
	claimed, refused := race(t, reset.ErrInvalidCode, func() error {
		return e.store.ClaimCode(context.Background(), rec, t0, claimFor)
	})
	if claimed != 1 || refused != 29 {
		t.Errorf("got %d claimed, %d refused; want 1, 29", claimed, refused)
	}
}

// race runs claim in 30 goroutines released at once and counts the nils
// and the refusals (want); anything else fails the test.
func race(t *testing.T, want error, claim func() error) (ok, refused int) {
	t.Helper()
	const n = 30
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = claim()
		}()
	}
	close(start)
	wg.Wait()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, want):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	return ok, refused
}

func TestClaimLink(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}}
	issue := func(t *testing.T, sub, owner string) reset.LinkRecord {
		t.Helper()
		rec, _ := linkRec(sub, "a1", 0, t0.Add(time.Hour))
		if owner != "" {
			rec.Owner = owner
		}
		wantNil(t, "issue", e.issueLink(t, rec, send, t0))
		return rec
	}

	t.Run("one claim at a time, until it runs out", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4), "")
		wantNil(t, "claim", e.store.ClaimLink(ctx, rec, t0, claimFor))
		wantIs(t, "second claim", e.store.ClaimLink(ctx, rec, t0, claimFor), reset.ErrInvalidToken)
		wantIs(t, "claim a second before it runs out", e.store.ClaimLink(ctx, rec, t0.Add(claimFor-time.Second), claimFor), reset.ErrInvalidToken)
		wantNil(t, "claim once it ran out", e.store.ClaimLink(ctx, rec, t0.Add(claimFor), claimFor))
	})

	t.Run("unknown", func(t *testing.T) {
		rec, _ := linkRec("sub-"+randHex(4), "a1", 0, t0.Add(time.Hour))
		wantIs(t, "claim a link never issued", e.store.ClaimLink(ctx, rec, t0, claimFor), reset.ErrInvalidToken)
	})

	t.Run("expired", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4), "")
		wantIs(t, "claim at expiry", e.store.ClaimLink(ctx, rec, rec.ExpiresAt, claimFor), reset.ErrInvalidToken)
		wantNil(t, "claim at expiry-1s", e.store.ClaimLink(ctx, rec, rec.ExpiresAt.Add(-time.Second), claimFor))
	})

	t.Run("no longer its account's latest", func(t *testing.T) {
		// The link's own item is untouched; only the owner's refuses it.
		owner := "o-" + randHex(4)
		old := issue(t, "sub-"+randHex(4), owner)
		newer := issue(t, "sub-"+randHex(4), owner)
		wantIs(t, "claim the earlier link", e.store.ClaimLink(ctx, old, t0, claimFor), reset.ErrInvalidToken)
		wantNil(t, "claim the latest", e.store.ClaimLink(ctx, newer, t0, claimFor))
	})

	t.Run("released, claimed again", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4), "")
		wantNil(t, "claim", e.store.ClaimLink(ctx, rec, t0, claimFor))
		wantNil(t, "release", e.store.ReleaseLink(ctx, rec))
		wantNil(t, "claim after release", e.store.ClaimLink(ctx, rec, t0, claimFor))
	})

	t.Run("finished: gone, and stays gone", func(t *testing.T) {
		rec := issue(t, "sub-"+randHex(4), "")
		wantNil(t, "claim", e.store.ClaimLink(ctx, rec, t0, claimFor))
		wantNil(t, "finish", e.store.FinishLink(ctx, rec, reset.Receipt{}))
		wantNil(t, "finish again", e.store.FinishLink(ctx, rec, reset.Receipt{}))
		// A release after the finish must not write the item back.
		wantNil(t, "release a finished link", e.store.ReleaseLink(ctx, rec))
		if it := e.item(t, "link#"+string(rec.Hash)); len(it) != 0 {
			t.Errorf("link item after finish and release: got %v, want none", it)
		}
		_, err := e.store.FindLink(ctx, rec.Hash, t0)
		wantIs(t, "find a finished link", err, reset.ErrInvalidToken)
		wantIs(t, "claim a finished link", e.store.ClaimLink(ctx, rec, t0.Add(claimFor), claimFor), reset.ErrInvalidToken)
	})

	t.Run("ConsumeLink refuses a claimed link", func(t *testing.T) {
		acct := putAccount(t, e)
		rec, _ := linkRec("sub-"+randHex(4), acct.ID, 0, t0.Add(time.Hour))
		wantNil(t, "issue", e.issueLink(t, rec, send, t0))
		wantNil(t, "claim", e.store.ClaimLink(ctx, rec, t0, claimFor))
		wantIs(t, "consume while claimed", e.store.ConsumeLink(ctx, rec, acct, "new-hash", reset.Receipt{}, t0.Add(claimFor-time.Second)), reset.ErrInvalidToken)
		if got, _ := e.store.AccountByID(ctx, acct.ID); got.PasswordHash != "old-hash" {
			t.Errorf("password after a refused consume: got %q, want old-hash", got.PasswordHash)
		}
		wantNil(t, "consume once the claim ran out", e.store.ConsumeLink(ctx, rec, acct, "new-hash", reset.Receipt{}, t0.Add(claimFor)))
	})
}

// Every goroutine claims the same link at once: exactly one gets it.
func TestClaimLinkConcurrent(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	rec, _ := linkRec("sub-"+randHex(4), "a1", 0, t0.Add(time.Hour))
	wantNil(t, "issue", e.issueLink(t, rec, reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}}, t0))
	claimed, refused := race(t, reset.ErrInvalidToken, func() error {
		return e.store.ClaimLink(context.Background(), rec, t0, claimFor)
	})
	if claimed != 1 || refused != 29 {
		t.Errorf("got %d claimed, %d refused; want 1, 29", claimed, refused)
	}
}
