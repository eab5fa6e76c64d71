package dynamo_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/reset"
)

// t0 is the fixed "now" the store tests start from. It lies in the future
// of the real clock on purpose: DynamoDB Local does delete items whose TTL
// attribute (expires_at) is in the real past, in the background, which
// would make items vanish between two calls of a test.
var t0 = time.Unix(4_102_444_800, 0) // 2100-01-01

func unixStr(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

type storeEnv struct {
	store         *dynamo.Store
	db            *dynamodb.Client
	tokens, users string
}

// newStore builds a store on fresh tables of DynamoDB Local.
func newStore(t *testing.T) storeEnv {
	t.Helper()
	stack := emulator.Need(t)
	db := function.ClientsAt(function.LocalConfig(), function.Endpoints{DynamoDB: stack.DynamoDBEndpoint}).DynamoDB
	suffix := randHex(4)
	tokens, users := "st-tokens-"+suffix, "st-users-"+suffix
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTables(ctx, db, tokens, dynamo.DefaultUsersTable(users)); err != nil {
		t.Fatal(err)
	}
	return storeEnv{store: dynamo.New(db, tokens, dynamo.DefaultUsersTable(users)), db: db, tokens: tokens, users: users}
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// state reads the account's item in the tokens table ("acct#<subject>").
func (e storeEnv) state(t *testing.T, subject string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.tokens),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "acct#" + subject}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func num(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return "<absent>"
}

// wantLimit checks that err is a *reset.LimitError around reason with the
// given RetryAfter.
func wantLimit(t *testing.T, what string, err, reason error, retry time.Duration) {
	t.Helper()
	var le *reset.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("%s: got %v, want a *reset.LimitError(%v, %v)", what, err, reason, retry)
	}
	if !errors.Is(err, reason) {
		t.Errorf("%s: got reason %v, want %v", what, le.Err, reason)
	}
	if le.RetryAfter != retry {
		t.Errorf("%s: got RetryAfter %v, want %v", what, le.RetryAfter, retry)
	}
}

func wantNil(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: got %v, want nil", what, err)
	}
}

func wantIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
}

func TestCountRequestWindow(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	limit := reset.Limit{Max: 3, Window: 5 * time.Minute}
	ip := "203.0.113.9"

	for i := range 3 {
		wantNil(t, "request in the open window", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(time.Duration(i)*time.Second)))
	}
	// Full: refused until the window's end, t0+5m.
	err := e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(10*time.Second))
	wantLimit(t, "4th request at t0+10s", err, reset.ErrRateLimited, 5*time.Minute-10*time.Second)
	err = e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t0.Add(5*time.Minute-time.Second))
	wantLimit(t, "request at t0+5m-1s", err, reset.ErrRateLimited, time.Second)

	// Another purpose and another IP have counters of their own.
	wantNil(t, "verify purpose, same IP", e.store.CountRequest(ctx, reset.PurposeVerify, ip, limit, t0.Add(10*time.Second)))
	wantNil(t, "send purpose, other IP", e.store.CountRequest(ctx, reset.PurposeSend, "203.0.113.10", limit, t0.Add(10*time.Second)))

	// The window has passed: the restart path opens a new one at t1.
	t1 := t0.Add(5 * time.Minute)
	wantNil(t, "first request after the window (restart)", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t1))
	wantNil(t, "2nd in new window", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t1.Add(time.Second)))
	wantNil(t, "3rd in new window", e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t1.Add(2*time.Second)))
	err = e.store.CountRequest(ctx, reset.PurposeSend, ip, limit, t1.Add(time.Minute))
	wantLimit(t, "4th in new window", err, reset.ErrRateLimited, 4*time.Minute)
}

// Every goroutine fires at once; exactly limit.Max get through.
func TestCountRequestConcurrent(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	limit := reset.Limit{Max: 5, Window: time.Minute}
	const n = 30
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = e.store.CountRequest(context.Background(), reset.PurposeVerify, "198.51.100.1", limit, t0)
		}()
	}
	close(start)
	wg.Wait()
	ok, limited := 0, 0
	for _, err := range errs {
		var le *reset.LimitError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &le) && errors.Is(err, reset.ErrRateLimited):
			limited++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != limit.Max || limited != n-limit.Max {
		t.Errorf("got %d allowed, %d limited; want %d, %d", ok, limited, limit.Max, n-limit.Max)
	}
}

// codeRec is a code of subject whose owner is named after accountID, so
// that records of one account share an owner, as the flows make them.
func codeRec(subject, accountID string, exp time.Time) reset.CodeRecord {
	return reset.CodeRecord{
		Subject: subject, AccountID: accountID, ID: randHex(16),
		Hash: reset.CodeHash(randHex(32)), KeyID: "k1", ExpiresAt: exp,
		Owner: "owner-" + accountID + "-" + subject,
	}
}

// issueCode issues rec and fails the test if the owner withheld its mail.
func (e storeEnv) issueCode(t *testing.T, rec reset.CodeRecord, limit reset.SendLimit, at time.Time) error {
	t.Helper()
	mail, err := e.store.IssueCode(context.Background(), rec, limit, at)
	if err == nil && !mail {
		t.Errorf("issue code at %v: mail withheld", at.Sub(t0))
	}
	return err
}

func (e storeEnv) issueLink(t *testing.T, rec reset.LinkRecord, limit reset.SendLimit, at time.Time) error {
	t.Helper()
	mail, err := e.store.IssueLink(context.Background(), rec, limit, at)
	if err == nil && !mail {
		t.Errorf("issue link at %v: mail withheld", at.Sub(t0))
	}
	return err
}

// sends counts the places of a sliding window in the span ending at now.
func inSpan(it map[string]types.AttributeValue, prefix string, max int, span time.Duration, now time.Time) int {
	n := 0
	for i := range max {
		if v, err := strconv.ParseInt(num(it, prefix+"_"+strconv.Itoa(i)), 10, 64); err == nil && v > now.Add(-span).Unix() {
			n++
		}
	}
	return n
}

func TestIssueCodeSendLimits(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	limit := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}, MinInterval: time.Minute}
	sub := "sub-" + randHex(4)
	issue := func(at time.Time) error {
		return e.issueCode(t, codeRec(sub, "a1", at.Add(10*time.Minute)), limit, at)
	}

	wantNil(t, "1st send at t0", issue(t0))
	wantLimit(t, "send at t0+30s (min interval)", issue(t0.Add(30*time.Second)), reset.ErrRateLimited, 30*time.Second)
	wantNil(t, "2nd send at t0+60s", issue(t0.Add(time.Minute)))
	wantNil(t, "3rd send at t0+120s", issue(t0.Add(2*time.Minute)))
	wantLimit(t, "4th send at t0+180s (window full)", issue(t0.Add(3*time.Minute)), reset.ErrRateLimited, time.Hour-3*time.Minute)
	wantLimit(t, "send at t0+1h-1s", issue(t0.Add(time.Hour-time.Second)), reset.ErrRateLimited, time.Second)
	// The window slides: the first send has left the hour, the others
	// have not, so one place is free, not three.
	wantNil(t, "send at t0+1h (the first has left the span)", issue(t0.Add(time.Hour)))
	wantLimit(t, "send at t0+1h+1m-1s", issue(t0.Add(time.Hour+time.Minute-time.Second)), reset.ErrRateLimited, time.Second)
	wantNil(t, "send at t0+1h+1m (the second has left)", issue(t0.Add(time.Hour+time.Minute)))
	if got := inSpan(e.state(t, sub), "sent", 3, time.Hour, t0.Add(time.Hour+time.Minute)); got != 3 {
		t.Errorf("sends in the last hour: got %d, want 3", got)
	}
}

func TestCountGuess(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	sendLimit := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}, MinInterval: time.Minute}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 7, Window: 24 * time.Hour}, NewCodeAfter: time.Minute}
	sub := "sub-" + randHex(4)

	_, err := e.store.CountGuess(ctx, sub, guess, t0)
	wantIs(t, "guess with no item", err, reset.ErrNoCode)

	rec := codeRec(sub, "a1", t0.Add(10*time.Minute))
	wantNil(t, "issue", e.issueCode(t, rec, sendLimit, t0))
	for i := 1; i <= 5; i++ {
		got, err := e.store.CountGuess(ctx, sub, guess, t0.Add(time.Second))
		wantNil(t, "guess", err)
		if got.Attempts != i || got.ID != rec.ID || got.Hash != rec.Hash || got.AccountID != "a1" || !got.ExpiresAt.Equal(rec.ExpiresAt) {
			t.Fatalf("guess %d: got record {attempts %d, id %s, account %s, exp %v}, want {attempts %d, id %s, account a1, exp %v}",
				i, got.Attempts, got.ID, got.AccountID, got.ExpiresAt, i, rec.ID, rec.ExpiresAt)
		}
	}
	// Dead after MaxAttempts: a new code may come at last_sent_at+1m.
	_, err = e.store.CountGuess(ctx, sub, guess, t0.Add(10*time.Second))
	wantLimit(t, "6th guess", err, reset.ErrTooManyAttempts, 50*time.Second)

	// A new code restores the per-code attempts but not the daily budget
	// (7): 5 spent, 2 left.
	t1 := t0.Add(2 * time.Minute)
	wantNil(t, "issue 2nd code", e.issueCode(t, codeRec(sub, "a1", t1.Add(10*time.Minute)), sendLimit, t1))
	for range 2 {
		_, err := e.store.CountGuess(ctx, sub, guess, t1)
		wantNil(t, "guess within the daily budget", err)
	}
	// The failure window opened at the first guess, t0+1s.
	_, err = e.store.CountGuess(ctx, sub, guess, t1.Add(time.Second))
	wantLimit(t, "guess over the daily budget", err, reset.ErrTooManyAttempts, 24*time.Hour-2*time.Minute)

	// Expired, though the item is still there.
	t2 := t0.Add(5 * time.Minute)
	sub2 := "sub-" + randHex(4)
	wantNil(t, "issue", e.issueCode(t, codeRec(sub2, "a2", t2.Add(10*time.Minute)), sendLimit, t2))
	_, err = e.store.CountGuess(ctx, sub2, guess, t2.Add(10*time.Minute-time.Second))
	wantNil(t, "guess at expiry-1s", err)
	_, err = e.store.CountGuess(ctx, sub2, guess, t2.Add(10*time.Minute))
	wantIs(t, "guess at expiry", err, reset.ErrExpired)

	// A day after the first five guesses, they have left the span.
	t3 := t0.Add(24*time.Hour + time.Second)
	wantNil(t, "issue after a day", e.issueCode(t, codeRec(sub, "a1", t3.Add(10*time.Minute)), sendLimit, t3))
	got, err := e.store.CountGuess(ctx, sub, guess, t3)
	wantNil(t, "guess after a day", err)
	if got.Attempts != 1 {
		t.Errorf("attempts after a day: got %d, want 1", got.Attempts)
	}
	// The window slides: the two guesses at t1 still count.
	if got := inSpan(e.state(t, sub), "failed", 7, 24*time.Hour, t3); got != 3 {
		t.Errorf("failures in the last day: got %d, want 3", got)
	}
}

// Exactly MaxAttempts of many parallel guesses are counted.
func TestCountGuessConcurrent(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	sendLimit := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}, MinInterval: time.Minute}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}, NewCodeAfter: time.Minute}
	sub := "sub-" + randHex(4)
	wantNil(t, "issue", e.issueCode(t, codeRec(sub, "a1", t0.Add(10*time.Minute)), sendLimit, t0))
	const n = 40
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = e.store.CountGuess(context.Background(), sub, guess, t0.Add(time.Second))
		}()
	}
	close(start)
	wg.Wait()
	counted, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			counted++
		case errors.Is(err, reset.ErrTooManyAttempts):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if counted != 5 || refused != n-5 {
		t.Errorf("got %d counted, %d refused; want 5, %d", counted, refused, n-5)
	}
	if st := e.state(t, sub); num(st, "attempts") != "5" || inSpan(st, "failed", 20, 24*time.Hour, t0.Add(time.Second)) != 5 {
		t.Errorf("stored attempts/failures: got %s/%d, want 5/5", num(st, "attempts"), inSpan(st, "failed", 20, 24*time.Hour, t0.Add(time.Second)))
	}
}

// putAccount adds an account to the users table.
func putAccount(t *testing.T, e storeEnv) reset.Account {
	t.Helper()
	id := "u-" + randHex(4)
	if err := e.store.PutAccount(context.Background(), dynamo.NewAccount{
		ID: id, Email: id + "@example.test", PasswordHash: "old-hash", Verified: true, Enabled: true,
	}); err != nil {
		t.Fatal(err)
	}
	acct, err := e.store.AccountByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return acct
}

func TestConsumeCode(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	sendLimit := reset.SendLimit{Limit: reset.Limit{Max: 100, Window: time.Hour}, MinInterval: 0}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}

	t.Run("record id no longer matches", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), sendLimit, t0))
		rec, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantNil(t, "guess", err)
		other := rec
		other.ID = randHex(16)
		wantIs(t, "consume with another id", e.store.ConsumeCode(ctx, other, acct, "new-hash", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)
		// Superseded: a newer code replaced the one that was checked.
		wantNil(t, "issue newer", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), sendLimit, t0))
		wantIs(t, "consume superseded", e.store.ConsumeCode(ctx, rec, acct, "new-hash", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)
		if got, _ := e.store.AccountByID(ctx, acct.ID); got.PasswordHash != "old-hash" || got.SessionVersion != 0 {
			t.Errorf("account after refused consumes: got hash %q sv %d, want old-hash sv 0", got.PasswordHash, got.SessionVersion)
		}
	})

	t.Run("session_version moved", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), sendLimit, t0))
		rec, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantNil(t, "guess", err)
		wantNil(t, "set password elsewhere", e.store.SetPassword(ctx, acct.ID, "admin-hash", t0))
		wantIs(t, "consume after a password change", e.store.ConsumeCode(ctx, rec, acct, "new-hash", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)
		if got, _ := e.store.AccountByID(ctx, acct.ID); got.PasswordHash != "admin-hash" || got.SessionVersion != 1 {
			t.Errorf("account: got hash %q sv %d, want admin-hash sv 1", got.PasswordHash, got.SessionVersion)
		}
	})

	t.Run("expired between count and consume", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), sendLimit, t0))
		rec, err := e.store.CountGuess(ctx, sub, guess, t0.Add(10*time.Minute-time.Second))
		wantNil(t, "guess", err)
		wantIs(t, "consume at expiry", e.store.ConsumeCode(ctx, rec, acct, "new-hash", reset.Receipt{}, guess, t0.Add(10*time.Minute)), reset.ErrInvalidCode)
	})

	t.Run("right code: consumed once", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		wantNil(t, "issue", e.issueCode(t, codeRec(sub, acct.ID, t0.Add(10*time.Minute)), sendLimit, t0))
		rec, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantNil(t, "guess", err)
		wantNil(t, "consume", e.store.ConsumeCode(ctx, rec, acct, "new-hash", reset.Receipt{}, guess, t0))
		got, _ := e.store.AccountByID(ctx, acct.ID)
		if got.PasswordHash != "new-hash" || got.SessionVersion != 1 {
			t.Errorf("account: got hash %q sv %d, want new-hash sv 1", got.PasswordHash, got.SessionVersion)
		}
		st := e.state(t, sub)
		if _, ok := st["code_id"]; ok {
			t.Error("code_id still stored after consume")
		}
		// The right guess was counted before the compare; it is not a failure.
		if got := inSpan(st, "failed", 20, 24*time.Hour, t0); got != 0 {
			t.Errorf("failures after a right guess: got %d, want 0", got)
		}
		wantIs(t, "consume again", e.store.ConsumeCode(ctx, rec, got, "newer-hash", reset.Receipt{}, guess, t0), reset.ErrInvalidCode)
		_, err = e.store.CountGuess(ctx, sub, guess, t0)
		wantIs(t, "guess after consume", err, reset.ErrNoCode)
	})
}

func TestWithdrawCode(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	limit := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}, MinInterval: time.Minute}
	guess := reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}

	t.Run("gives the send back", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		rec := codeRec(sub, "a1", t0.Add(10*time.Minute))
		wantNil(t, "issue", e.issueCode(t, rec, limit, t0))
		wantNil(t, "withdraw", e.store.WithdrawCode(ctx, rec, limit))
		st := e.state(t, sub)
		if got := inSpan(st, "sent", 3, time.Hour, t0); got != 0 {
			t.Errorf("sends after withdraw: got %d, want 0", got)
		}
		if _, ok := st["last_sent_at"]; ok {
			t.Error("last_sent_at still stored after withdraw")
		}
		_, err := e.store.CountGuess(ctx, sub, guess, t0)
		wantIs(t, "guess at a withdrawn code", err, reset.ErrNoCode)
		// The retry is neither held back by the min interval nor counted twice.
		for i := range 3 {
			wantNil(t, "send after withdraw", e.issueCode(t, codeRec(sub, "a1", t0.Add(10*time.Minute)), limit, t0.Add(time.Duration(1+60*i)*time.Second)))
		}
	})

	t.Run("superseded: does nothing", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		first := codeRec(sub, "a1", t0.Add(10*time.Minute))
		wantNil(t, "issue first", e.issueCode(t, first, limit, t0))
		second := codeRec(sub, "a1", t0.Add(11*time.Minute))
		wantNil(t, "issue second", e.issueCode(t, second, limit, t0.Add(time.Minute)))
		wantNil(t, "withdraw first", e.store.WithdrawCode(ctx, first, limit))
		st := e.state(t, sub)
		if got := inSpan(st, "sent", 3, time.Hour, t0.Add(time.Minute)); got != 2 {
			t.Errorf("sends: got %d, want 2", got)
		}
		if got, want := num(st, "last_sent_at"), unixStr(t0.Add(time.Minute)); got != want {
			t.Errorf("last_sent_at: got %s, want %s", got, want)
		}
		rec, err := e.store.CountGuess(ctx, sub, guess, t0.Add(time.Minute))
		wantNil(t, "guess", err)
		if rec.ID != second.ID {
			t.Errorf("live code: got id %s, want the second's %s", rec.ID, second.ID)
		}
	})
}

func linkRec(subject, accountID string, sv int64, exp time.Time) (reset.LinkRecord, string) {
	token := randHex(32)
	sum := sha256.Sum256([]byte(token))
	return reset.LinkRecord{
		Hash: reset.TokenHash(hex.EncodeToString(sum[:])), Subject: subject, AccountID: accountID,
		SessionVersion: sv, ExpiresAt: exp, Owner: "owner-" + accountID + "-" + subject,
	}, token
}

func TestLinks(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	limit := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}, MinInterval: time.Minute}

	t.Run("find", func(t *testing.T) {
		unknown, _ := linkRec("x", "", 0, t0)
		_, err := e.store.FindLink(ctx, unknown.Hash, t0)
		wantIs(t, "find unknown", err, reset.ErrInvalidToken)

		sub := "sub-" + randHex(4)
		rec, _ := linkRec(sub, "a1", 4, t0.Add(time.Hour))
		wantNil(t, "issue", e.issueLink(t, rec, limit, t0))
		got, err := e.store.FindLink(ctx, rec.Hash, t0.Add(time.Hour-time.Second))
		wantNil(t, "find at expiry-1s", err)
		if got.Subject != sub || got.AccountID != "a1" || got.SessionVersion != 4 || !got.ExpiresAt.Equal(rec.ExpiresAt) || got.Hash != rec.Hash {
			t.Errorf("found: got %+v, want %+v", got, rec)
		}
		_, err = e.store.FindLink(ctx, rec.Hash, t0.Add(time.Hour))
		wantIs(t, "find at expiry", err, reset.ErrExpired)
	})

	t.Run("send limits", func(t *testing.T) {
		sub := "sub-" + randHex(4)
		issue := func(at time.Time) error {
			rec, _ := linkRec(sub, "a1", 0, at.Add(time.Hour))
			return e.issueLink(t, rec, limit, at)
		}
		wantNil(t, "1st", issue(t0))
		wantLimit(t, "at t0+10s", issue(t0.Add(10*time.Second)), reset.ErrRateLimited, 50*time.Second)
		wantNil(t, "2nd", issue(t0.Add(time.Minute)))
		wantNil(t, "3rd", issue(t0.Add(2*time.Minute)))
		wantLimit(t, "4th", issue(t0.Add(3*time.Minute)), reset.ErrRateLimited, 57*time.Minute)
		wantNil(t, "after the window", issue(t0.Add(time.Hour)))
	})

	t.Run("consume: superseded, used, session moved", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		first, _ := linkRec(sub, acct.ID, 0, t0.Add(time.Hour))
		wantNil(t, "issue first", e.issueLink(t, first, limit, t0))
		second, _ := linkRec(sub, acct.ID, 0, t0.Add(time.Hour+time.Minute))
		wantNil(t, "issue second", e.issueLink(t, second, limit, t0.Add(time.Minute)))
		wantIs(t, "consume superseded", e.store.ConsumeLink(ctx, first, acct, "h1", reset.Receipt{}, t0.Add(time.Minute)), reset.ErrInvalidToken)
		wantIs(t, "consume at expiry", e.store.ConsumeLink(ctx, second, acct, "h2", reset.Receipt{}, t0.Add(time.Hour+time.Minute)), reset.ErrInvalidToken)
		wantNil(t, "consume latest", e.store.ConsumeLink(ctx, second, acct, "h2", reset.Receipt{}, t0.Add(time.Minute)))
		if got, _ := e.store.AccountByID(ctx, acct.ID); got.PasswordHash != "h2" || got.SessionVersion != 1 {
			t.Errorf("account: got hash %q sv %d, want h2 sv 1", got.PasswordHash, got.SessionVersion)
		}
		wantIs(t, "consume again", e.store.ConsumeLink(ctx, second, acct, "h3", reset.Receipt{}, t0.Add(time.Minute)), reset.ErrInvalidToken)
		_, err := e.store.FindLink(ctx, second.Hash, t0.Add(time.Minute))
		wantIs(t, "find a used link", err, reset.ErrInvalidToken)

		acct2 := putAccount(t, e)
		sub2 := "sub-" + randHex(4)
		rec, _ := linkRec(sub2, acct2.ID, 0, t0.Add(time.Hour))
		wantNil(t, "issue", e.issueLink(t, rec, limit, t0))
		wantNil(t, "set password elsewhere", e.store.SetPassword(ctx, acct2.ID, "admin-hash", t0))
		wantIs(t, "consume after a password change", e.store.ConsumeLink(ctx, rec, acct2, "h", reset.Receipt{}, t0), reset.ErrInvalidToken)
	})

	t.Run("withdraw", func(t *testing.T) {
		acct := putAccount(t, e)
		sub := "sub-" + randHex(4)
		rec, _ := linkRec(sub, acct.ID, 0, t0.Add(time.Hour))
		wantNil(t, "issue", e.issueLink(t, rec, limit, t0))
		wantNil(t, "withdraw", e.store.WithdrawLink(ctx, rec, limit))
		if got := inSpan(e.state(t, sub), "sent", 3, time.Hour, t0); got != 0 {
			t.Errorf("sends after withdraw: got %d, want 0", got)
		}
		wantIs(t, "consume a withdrawn link", e.store.ConsumeLink(ctx, rec, acct, "h", reset.Receipt{}, t0), reset.ErrInvalidToken)
	})
}

// Parallel sends to one account: exactly Max get through, for codes and links.
func TestIssueConcurrent(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	limit := reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}}
	for _, kind := range []string{"code", "link"} {
		t.Run(kind, func(t *testing.T) {
			sub := "sub-" + randHex(4)
			const n = 20
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if kind == "code" {
						_, errs[i] = e.store.IssueCode(context.Background(), codeRec(sub, "a1", t0.Add(time.Hour)), limit, t0)
					} else {
						rec, _ := linkRec(sub, "a1", 0, t0.Add(time.Hour))
						_, errs[i] = e.store.IssueLink(context.Background(), rec, limit, t0)
					}
				}()
			}
			close(start)
			wg.Wait()
			ok, limited := 0, 0
			for _, err := range errs {
				var le *reset.LimitError
				switch {
				case err == nil:
					ok++
				case errors.As(err, &le) && errors.Is(err, reset.ErrRateLimited):
					limited++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}
			if ok != 3 || limited != n-3 {
				t.Errorf("got %d sent, %d limited; want 3, %d", ok, limited, n-3)
			}
		})
	}
}
