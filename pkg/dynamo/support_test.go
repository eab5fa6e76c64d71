package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/reset"
)

// The support commands' store: killing an account's codes and links with
// the tokens table alone (as on every back-end), reading its state, and
// bumping session_version.

var (
	supportSend  = reset.SendLimit{Limit: reset.Limit{Max: 3, Window: time.Hour}, MinInterval: time.Minute}
	supportGuess = reset.GuessLimit{MaxAttempts: 5, Failures: reset.Limit{Max: 20, Window: 24 * time.Hour}}
)

func TestKillSecrets(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	acct := putAccount(t, e)
	owner := "o-" + randHex(4)
	byEmail, byName, unlisted := "sub-"+randHex(4), "sub-"+randHex(4), "sub-"+randHex(4)

	link, _ := linkRec(byEmail, acct.ID, 0, t0.Add(time.Hour))
	link.Owner = owner
	wantNil(t, "issue link", e.issueLink(t, link, supportSend, t0))
	code := owned(codeRec(byName, acct.ID, t0.Add(10*time.Minute)), owner)
	wantNil(t, "issue code", e.issueCode(t, code, supportSend, t0))
	// The latest: a code by a name KillSecrets is not told of. Unnaming
	// the latest must kill it all the same.
	last := owned(codeRec(unlisted, acct.ID, t0.Add(10*time.Minute)), owner)
	wantNil(t, "issue code by a third name", e.issueCode(t, last, supportSend, t0))

	names := []reset.NameKey{{By: "email", Subject: byEmail}, {By: "username", Subject: byName}}
	killed, err := e.store.KillSecrets(ctx, names, owner, t0)
	wantNil(t, "kill", err)
	if want := (reset.Killed{Codes: 1, Links: 1, Latest: true}); killed != want {
		t.Errorf("killed %+v, want %+v", killed, want)
	}
	wantIs(t, "consume the link", e.store.ConsumeLink(ctx, link, acct, "h", reset.Receipt{}, t0), reset.ErrInvalidToken)
	_, err = e.store.CountGuess(ctx, byName, supportGuess, t0)
	wantIs(t, "guess at the listed name's code", err, reset.ErrNoCode)
	rec, err := e.store.CountGuess(ctx, unlisted, supportGuess, t0)
	wantNil(t, "guess at the unlisted name's code", err)
	wantIs(t, "consume the unlisted name's code", e.store.ConsumeCode(ctx, rec, acct, "h", reset.Receipt{}, supportGuess, t0), reset.ErrInvalidCode)
	if got, err := e.store.AccountByID(ctx, acct.ID); err != nil || got.SessionVersion != acct.SessionVersion {
		t.Errorf("session_version %d (%v), want %d: the kill is the tokens table's alone", got.SessionVersion, err, acct.SessionVersion)
	}

	again, err := e.store.KillSecrets(ctx, names, owner, t0)
	wantNil(t, "kill again", err)
	if again != (reset.Killed{}) {
		t.Errorf("second kill %+v, want nothing", again)
	}
	// A name never asked by, an owner never written: nothing, and no item.
	none, err := e.store.KillSecrets(ctx, []reset.NameKey{{By: "email", Subject: "sub-" + randHex(4)}}, "o-"+randHex(4), t0)
	wantNil(t, "kill nothing", err)
	if none != (reset.Killed{}) {
		t.Errorf("kill of nothing %+v, want nothing", none)
	}
}

func TestRecoveryState(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	acct := putAccount(t, e)
	owner := "o-" + randHex(4)
	sub := "sub-" + randHex(4)
	names := []reset.NameKey{{By: "email", Subject: sub}}
	limits := reset.StateLimits{Send: supportSend, Guess: supportGuess}

	empty, err := e.store.RecoveryState(ctx, names, owner, limits, t0)
	wantNil(t, "state of nothing", err)
	if empty.Live != "" || empty.Names[0].Code != nil || empty.Sends.Used != 0 || !empty.Names[0].LastSentAt.IsZero() {
		t.Errorf("state of nothing: %+v", empty)
	}

	code := owned(codeRec(sub, acct.ID, t0.Add(10*time.Minute)), owner)
	wantNil(t, "issue code", e.issueCode(t, code, supportSend, t0))
	for i := range 2 {
		_, err := e.store.CountGuess(ctx, sub, supportGuess, t0.Add(time.Duration(i+1)*time.Second))
		wantNil(t, "guess", err)
		_, _, err = e.store.CountOwnerFailure(ctx, owner, supportGuess.Failures, t0.Add(time.Duration(i+1)*time.Second))
		wantNil(t, "owner failure", err)
	}
	now := t0.Add(5 * time.Second)
	st, err := e.store.RecoveryState(ctx, names, owner, limits, now)
	wantNil(t, "state", err)
	n := st.Names[0]
	if st.Live != "code" || n.Code == nil || !n.Code.Live || n.Code.Attempts != 2 || !n.Code.ExpiresAt.Equal(code.ExpiresAt) {
		t.Errorf("code: live %q %+v, want a live code with 2 attempts", st.Live, n.Code)
	}
	want := reset.Counter{Used: 2, Max: 20, FreesAt: t0.Add(time.Second + 24*time.Hour)}
	if n.Failures != want || st.Failures != want {
		t.Errorf("failures: name %+v, account %+v, want %+v", n.Failures, st.Failures, want)
	}
	if want := (reset.Counter{Used: 1, Max: 3, FreesAt: t0.Add(time.Hour)}); n.Sends != want || st.Sends != want {
		t.Errorf("sends: name %+v, account %+v, want %+v", n.Sends, st.Sends, want)
	}
	if !n.LastSentAt.Equal(t0) {
		t.Errorf("last sent %v, want t0", n.LastSentAt)
	}

	// A link by the same name: it is the live one, the code dead.
	link, _ := linkRec(sub, acct.ID, 0, t0.Add(time.Hour))
	link.Owner = owner
	wantNil(t, "issue link", e.issueLink(t, link, supportSend, t0.Add(time.Minute)))
	st, err = e.store.RecoveryState(ctx, names, owner, limits, t0.Add(time.Minute))
	wantNil(t, "state", err)
	if st.Live != "link" || st.Link == nil || !st.Link.Live || st.Link.FromSupport || st.Names[0].Code.Live {
		t.Errorf("after a link: live %q link %+v code %+v", st.Live, st.Link, st.Names[0].Code)
	}
	wantNil(t, "mark", e.store.MarkSupportLink(ctx, owner, link.Hash))
	st, err = e.store.RecoveryState(ctx, names, owner, limits, t0.Add(time.Minute))
	wantNil(t, "state", err)
	if st.Link == nil || !st.Link.FromSupport {
		t.Errorf("marked link: %+v, want from support", st.Link)
	}
	// Past its time, even before TTL deletes it: not live.
	st, err = e.store.RecoveryState(ctx, names, owner, limits, t0.Add(2*time.Hour))
	wantNil(t, "state", err)
	if st.Live != "" || st.Link == nil || st.Link.Live {
		t.Errorf("expired link: live %q link %+v", st.Live, st.Link)
	}
}

func TestBumpSessionVersion(t *testing.T) {
	t.Parallel()
	e := newStore(t)
	ctx := context.Background()
	acct := putAccount(t, e)
	link, _ := linkRec("sub-"+randHex(4), acct.ID, acct.SessionVersion, t0.Add(time.Hour))
	wantNil(t, "issue link", e.issueLink(t, link, supportSend, t0))
	wantNil(t, "bump", e.store.BumpSessionVersion(ctx, acct.ID))
	got, err := e.store.AccountByID(ctx, acct.ID)
	wantNil(t, "read", err)
	if got.SessionVersion != acct.SessionVersion+1 || got.PasswordHash != acct.PasswordHash {
		t.Errorf("after bump: version %d hash %q, want %d and the password unchanged", got.SessionVersion, got.PasswordHash, acct.SessionVersion+1)
	}
	wantIs(t, "consume a link issued before", e.store.ConsumeLink(ctx, link, got, "h", reset.Receipt{}, t0), reset.ErrInvalidToken)
	wantIs(t, "bump an unknown account", e.store.BumpSessionVersion(ctx, "u-nobody-"+randHex(4)), reset.ErrUnknownAccount)
}
