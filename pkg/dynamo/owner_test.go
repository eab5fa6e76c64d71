package dynamo_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// The account-wide rules live in the owner's item; these tests give the
// records of two names one owner, as the flows do for an account's email
// and user name.

func owned(rec reset.CodeRecord, owner string) reset.CodeRecord { rec.Owner = owner; return rec }

// Finding 11: issuing a code or a link kills every earlier code and link of
// the account, across kinds and names.
func TestOnlyTheLatestSecretAcrossKinds(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 10, Window: time.Hour}}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}

	t.Run("a link after a code", func(t *testing.T) {
		acct := putAccount(t, e)
		owner := "o-" + randHex(4)
		code := owned(codeRec("sub-"+randHex(4), acct.ID, t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue code", e.issueCode(t, code, send, t0))
		link, _ := linkRec("sub-"+randHex(4), acct.ID, 0, t0.Add(time.Hour))
		link.Owner = owner
		wantNil(t, "issue link", e.issueLink(t, link, send, t0))
		rec, err := e.store.CountGuess(ctx, code.Subject, guess, t0)
		wantNil(t, "guess", err)
		wantIs(t, "consume the earlier code", e.store.ConsumeCode(ctx, rec, acct, "h", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)
		latest, err := e.store.IsLatest(ctx, owner, string(link.Hash))
		wantNil(t, "is latest", err)
		if !latest {
			t.Error("the link is not the latest")
		}
		wantNil(t, "consume the link", e.store.ConsumeLink(ctx, link, acct, "h", reset.Receipt{}, t0))
	})

	t.Run("a code after a link", func(t *testing.T) {
		acct := putAccount(t, e)
		owner := "o-" + randHex(4)
		link, _ := linkRec("sub-"+randHex(4), acct.ID, 0, t0.Add(time.Hour))
		link.Owner = owner
		wantNil(t, "issue link", e.issueLink(t, link, send, t0))
		code := owned(codeRec("sub-"+randHex(4), acct.ID, t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue code", e.issueCode(t, code, send, t0))
		wantIs(t, "consume the earlier link", e.store.ConsumeLink(ctx, link, acct, "h", reset.Receipt{}, t0), reset.ErrInvalidToken)
		if latest, _ := e.store.IsLatest(ctx, owner, string(link.Hash)); latest {
			t.Error("the earlier link is still the latest")
		}
		rec, err := e.store.CountGuess(ctx, code.Subject, guess, t0)
		wantNil(t, "guess", err)
		wantNil(t, "consume the code", e.store.ConsumeCode(ctx, rec, acct, "h", reset.Receipt{}, guess, t0))
	})

	t.Run("a code by another name", func(t *testing.T) {
		acct := putAccount(t, e)
		owner := "o-" + randHex(4)
		byEmail := owned(codeRec("sub-"+randHex(4), acct.ID, t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue by email", e.issueCode(t, byEmail, send, t0))
		byName := owned(codeRec("sub-"+randHex(4), acct.ID, t0.Add(10*time.Minute)), owner)
		wantNil(t, "issue by user name", e.issueCode(t, byName, send, t0))
		rec, err := e.store.CountGuess(ctx, byEmail.Subject, guess, t0)
		wantNil(t, "guess by email: the code is still there to be guessed at", err)
		wantIs(t, "consume the email's code", e.store.ConsumeCode(ctx, rec, acct, "h", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)
	})
}

// Finding 4: a code or link works only while the account keeps the address
// it was mailed to; the transaction checks it, so a change between the
// flow's read and the write still kills it.
func TestConsumeRefusedAfterEmailChange(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 10, Window: time.Hour}}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}
	changeEmail := func(t *testing.T, id string) {
		t.Helper()
		_, err := e.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                 aws.String(e.users),
			Key:                       map[string]types.AttributeValue{"user_id": &types.AttributeValueMemberS{Value: id}},
			UpdateExpression:          aws.String("SET email = :e"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberS{Value: "new-" + id + "@example.test"}},
		})
		wantNil(t, "change email", err)
	}

	acct := putAccount(t, e)
	code := codeRec("sub-"+randHex(4), acct.ID, t0.Add(10*time.Minute))
	wantNil(t, "issue code", e.issueCode(t, code, send, t0))
	rec, err := e.store.CountGuess(ctx, code.Subject, guess, t0)
	wantNil(t, "guess", err)
	changeEmail(t, acct.ID)
	wantIs(t, "consume the code", e.store.ConsumeCode(ctx, rec, acct, "h", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)

	acct2 := putAccount(t, e)
	link, _ := linkRec("sub-"+randHex(4), acct2.ID, 0, t0.Add(time.Hour))
	wantNil(t, "issue link", e.issueLink(t, link, send, t0))
	changeEmail(t, acct2.ID)
	wantIs(t, "consume the link", e.store.ConsumeLink(ctx, link, acct2, "h", reset.Receipt{}, t0), reset.ErrInvalidToken)
	for _, id := range []string{acct.ID, acct2.ID} {
		if got, _ := e.store.AccountByID(ctx, id); got.PasswordHash != "old-hash" {
			t.Errorf("password of %s changed: %q", id, got.PasswordHash)
		}
	}
}

// The account-wide send limit counts sends by every name; when it is spent
// the send still counts on its name, answers like any other, mails
// nothing, and leaves the account's live secret alone.
func TestAccountSendLimitAcrossNames(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	send := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}}
	owner := "o-" + randHex(4)
	byEmail, byName := "sub-"+randHex(4), "sub-"+randHex(4)
	var mailed reset.CodeRecord
	for i := range 3 {
		mailed = owned(codeRec(byEmail, "a1", t0.Add(time.Hour)), owner)
		wantNil(t, "send by email", e.issueCode(t, mailed, send, t0.Add(time.Duration(i)*time.Minute)))
	}
	last := owned(codeRec(byName, "a1", t0.Add(time.Hour)), owner)
	mail, err := e.store.IssueCode(ctx, last, send, t0.Add(5*time.Minute))
	wantNil(t, "send by user name", err)
	if mail {
		t.Error("4th send to the account in an hour: mail allowed")
	}
	// The withheld code is dead from the start; the last one mailed lives.
	if latest, _ := e.store.IsLatest(ctx, owner, last.ID); latest {
		t.Error("the withheld code, which no mail carried, is the account's latest")
	}
	if latest, _ := e.store.IsLatest(ctx, owner, mailed.ID); !latest {
		t.Error("a withheld send killed the account's live code")
	}
	// An hour after the first send, one place is free again.
	mail, err = e.store.IssueCode(ctx, owned(codeRec(byName, "a1", t0.Add(2*time.Hour)), owner), send, t0.Add(time.Hour))
	wantNil(t, "send after the first left the span", err)
	if !mail {
		t.Error("send after the first left the span: mail withheld")
	}
}

// The owner's failure budget: counted and spent, and one notice per window.
func TestOwnerFailureBudgetAndNotice(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	limit := reset.Limit{Max: 3, Window: 24 * time.Hour}
	owner := "o-" + randHex(4)
	for i := range 3 {
		counted, spent, err := e.store.CountOwnerFailure(ctx, owner, limit, t0.Add(time.Duration(i)*time.Hour))
		wantNil(t, "count", err)
		if !counted || spent != (i == 2) {
			t.Errorf("failure %d: counted %v spent %v, want true %v", i+1, counted, spent, i == 2)
		}
	}
	counted, spent, err := e.store.CountOwnerFailure(ctx, owner, limit, t0.Add(3*time.Hour))
	wantNil(t, "count over the budget", err)
	if counted || !spent {
		t.Errorf("over the budget: counted %v spent %v, want false true", counted, spent)
	}
	// Sliding: a day after the first failure, one place frees.
	counted, _, err = e.store.CountOwnerFailure(ctx, owner, limit, t0.Add(24*time.Hour))
	wantNil(t, "count a day after the first", err)
	if !counted {
		t.Error("a day after the first failure: not counted")
	}

	claims := 0
	for _, at := range []time.Duration{0, time.Minute, 23 * time.Hour, 24 * time.Hour, 25 * time.Hour} {
		ok, err := e.store.ClaimNotice(ctx, owner, 24*time.Hour, t0.Add(at))
		wantNil(t, "claim", err)
		if ok {
			claims++
		}
	}
	if claims != 2 {
		t.Errorf("notices claimed over 25 hours: got %d, want 2 (at 0 and at 24h)", claims)
	}
}

// Finding 5: every limit holds in any span of its window, across what
// was a fixed window's edge.
func TestLimitsNeverDoubleAcrossWindowEdge(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	limit := reset.Limit{Max: 3, Window: 5 * time.Minute}
	ip := "192.0.2.77"
	// One request opens what was a fixed window; three more near its end.
	wantNil(t, "first", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0))
	for _, at := range []time.Duration{4*time.Minute + 57*time.Second, 4*time.Minute + 58*time.Second} {
		wantNil(t, "near the edge", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(at)))
	}
	// Just past the old edge only the first has left the span: one more,
	// then refused until 4m57s+5m.
	wantNil(t, "past the edge", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(5*time.Minute)))
	err := e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(5*time.Minute+time.Second))
	wantLimit(t, "second past the edge", err, reset.ErrRateLimited, 4*time.Minute+56*time.Second)

	// Sends and failures use the same window; the flows' tests step the
	// clock through them (pkg/gateway review tests).
	send := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}, MinInterval: time.Minute}
	sub := "sub-" + randHex(4)
	for _, at := range []time.Duration{0, 58 * time.Minute, 59 * time.Minute} {
		wantNil(t, "send", e.issueCode(t, codeRec(sub, "a1", t0.Add(2*time.Hour)), send, t0.Add(at)))
	}
	wantNil(t, "send at 1h", e.issueCode(t, codeRec(sub, "a1", t0.Add(2*time.Hour)), send, t0.Add(time.Hour)))
	err = e.issueCode(t, codeRec(sub, "a1", t0.Add(2*time.Hour)), send, t0.Add(time.Hour+time.Minute))
	wantLimit(t, "send at 1h1m", err, reset.ErrRateLimited, 57*time.Minute)
}

// Finding 5, the per-IP side: a limit above maxPlaces (32) groups events,
// and its worst case is Max + ceil(Max/32) - 1 in any span, never 2x; a
// limit up to 32 is exact. Requests come every second and in bursts, and
// every span of the window is checked.
func TestWindowWorstCase(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	for _, tt := range []struct {
		max   int
		worst int
	}{
		{max: 5, worst: 5},
		{max: 32, worst: 32},
		{max: 70, worst: 70 + 3 - 1},
	} {
		limit := reset.Limit{Max: tt.max, Window: 100 * time.Second}
		ip := "198.51.100." + strconv.Itoa(tt.max)
		var admitted []time.Time
		try := func(at time.Time) {
			err := e.store.CountRequest(ctx, reset.PurposeVerify, ip, limit, at)
			var le *reset.LimitError
			switch {
			case err == nil:
				admitted = append(admitted, at)
			case errors.As(err, &le):
			default:
				t.Fatalf("max %d: %v", tt.max, err)
			}
		}
		// A burst at the start of what would be a fixed window's end, a
		// steady trickle, and a burst right after the old edge.
		for s := 0; s < 260; s++ {
			at := t0.Add(time.Duration(s) * time.Second)
			n := 1
			if s == 95 || s == 101 || s == 200 {
				n = tt.max
			}
			for range n {
				try(at)
			}
		}
		most := 0
		for i := range admitted {
			n := 0
			for j := i; j < len(admitted) && admitted[j].Before(admitted[i].Add(limit.Window)); j++ {
				n++
			}
			most = max(most, n)
		}
		if most > tt.worst {
			t.Errorf("max %d: %d admitted in one span of %v; the bound is %d", tt.max, most, limit.Window, tt.worst)
		}
		if most < tt.max {
			t.Errorf("max %d: at most %d admitted in any span; the limit should let %d through", tt.max, most, tt.max)
		}
		t.Logf("max %d: at most %d in any span (bound %d), %d admitted in all", tt.max, most, tt.worst, len(admitted))
	}
}

// RequestsCounted reads back what the window counts: each request while
// the limit is exact, each group's count when it groups, none once the
// window has passed.
func TestRequestsCounted(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	for _, tt := range []struct {
		max, requests int
	}{
		{max: 5, requests: 4},
		{max: 1000, requests: 77}, // groups of 32
	} {
		limit := reset.Limit{Max: tt.max, Window: time.Hour}
		ip := "203.0.113." + strconv.Itoa(tt.max%250)
		if n, err := e.store.RequestsCounted(ctx, reset.PurposeSend, ip, limit, t0); err != nil || n != 0 {
			t.Fatalf("max %d, before any request: %d, %v; want 0", tt.max, n, err)
		}
		for i := range tt.requests {
			wantNil(t, "request", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(time.Duration(i)*time.Second)))
		}
		at := t0.Add(time.Duration(tt.requests) * time.Second)
		if n, err := e.store.RequestsCounted(ctx, reset.PurposeSend, ip, limit, at); err != nil || n != tt.requests {
			t.Errorf("max %d: counted %d, %v; want %d", tt.max, n, err, tt.requests)
		}
		if n, err := e.store.RequestsCounted(ctx, reset.PurposeSend, ip, limit, at.Add(time.Hour)); err != nil || n != 0 {
			t.Errorf("max %d, an hour later: counted %d, %v; want 0", tt.max, n, err)
		}
	}
}
