package reset

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Support is what a support engineer does to one account (the CLI's
// "passreset support"): mail it a reset link or hand one over, mark its
// password compromised, and read its recovery state. It works through the
// flows' own Store, Directory, Mailer, Keys and Sessions, so a link it
// issues is one the reset routes accept and counts against the same
// limits; only the per-IP limit is not counted, as there is no request
// and no IP.
type Support struct {
	s        *Service
	store    SupportStore
	versions SessionVersions
}

// SupportStore is what Support needs of the tokens table beyond Store.
// The tokens table is DynamoDB on every back-end, so all of it works
// wherever the accounts live.
type SupportStore interface {
	// RecoveryState reads, and never writes, the state kept under the
	// names and the owner: codes, links and counters, as of now. Live is
	// as the tokens table has it (the latest, unexpired, guesses left);
	// the session_version each record was issued under is reported, and
	// Support checks it against the account's.
	RecoveryState(ctx context.Context, names []NameKey, owner string, limits StateLimits, now time.Time) (RecoveryState, error)
	// KillSecrets makes every code, link and grant of the owner unusable:
	// it unnames the owner's latest record, which is what every use is
	// conditioned on, then deletes the names' codes and the links and
	// grants they and the owner name. It reports what it removed that was
	// unexpired.
	KillSecrets(ctx context.Context, names []NameKey, owner string, now time.Time) (Killed, error)
	// MarkSupportLink records the link as issued by Support.Compromised,
	// if it is still the owner's latest record.
	MarkSupportLink(ctx context.Context, owner string, link TokenHash) error
}

// SessionVersions bumps an account's session_version without touching its
// password: every code and link issued before then stops working (the
// contract's rule on session_version), and so does every session of an app
// that checks it. Only the DynamoDB users table has one to bump.
type SessionVersions interface {
	BumpSessionVersion(ctx context.Context, accountID string) error
}

// NewSupport returns the support actions over flows' collaborators, store
// (the same tokens table) and versions (nil on a back-end that keeps no
// session_version the service can write).
func NewSupport(flows *Service, store SupportStore, versions SessionVersions) *Support {
	return &Support{s: flows, store: store, versions: versions}
}

// NameKey is one of an account's names, as its records are kept under it.
type NameKey struct {
	By      string // "email" or "username"
	Subject string // the keyed hash of the name (see subject)
}

// StateLimits are the limits RecoveryState measures the counters against.
type StateLimits struct {
	Send  SendLimit
	Guess GuessLimit
}

// Counter is a sliding window's use.
type Counter struct {
	Used, Max int
	// FreesAt is when the oldest counted event leaves the window, giving
	// a place back; zero when nothing is counted.
	FreesAt time.Time
}

// Full reports whether the counter has no place left.
func (c Counter) Full() bool { return c.Max > 0 && c.Used >= c.Max }

// RecoveryState is an account's recovery state, with no secret in it:
// no code, token, hash, address or IP.
type RecoveryState struct {
	Names []NameState
	// Sends and Failures are the account-wide counters, across its names.
	Sends    Counter
	Failures Counter
	// Live says which of the account's records is the one that works now:
	// "code", "link", "grant" (a two-step grant, never mailed) or "" for
	// none.
	Live string
	// Link is the account's latest link or grant, when its latest record
	// is one.
	Link *LinkState
	// NoticeAt is when the owner was last told of guessing at its codes.
	NoticeAt time.Time
	// NextSendAt is when a mail to the account's email may go again: the
	// email name's interval and hourly limit, and the account-wide one.
	// Zero when it may go now.
	NextSendAt time.Time
}

// NameState is the state kept under one name of the account.
type NameState struct {
	By         string // "email" or "username"
	Code       *CodeState
	Sends      Counter
	LastSentAt time.Time
	// NextSendAt is when the name may be mailed again; zero: now.
	NextSendAt time.Time
	Failures   Counter // the name's daily failure budget
}

// CodeState is a name's stored code.
type CodeState struct {
	ExpiresAt             time.Time
	Attempts, MaxAttempts int
	// SessionVersion is the account's session_version it was issued under.
	SessionVersion int64
	// Live: the account's latest record, unexpired, with guesses left, and
	// (Support's reading) issued under the account's session_version.
	Live bool
}

// LinkState is the account's latest link or grant.
type LinkState struct {
	// Grant: a two-step grant (VerifyCode), never mailed; else a link.
	Grant     bool
	ExpiresAt time.Time
	// SessionVersion is the account's session_version it was issued under.
	SessionVersion int64
	// Live: stored and unexpired, and (Support's reading) issued under the
	// account's session_version: a password changed since killed it.
	Live bool
	// FromSupport: mailed by Support.Compromised.
	FromSupport bool
}

// Killed is what KillSecrets removed.
type Killed struct {
	Codes, Links, Grants int
	// Latest: the account had a latest record, now unnamed.
	Latest bool
}

// Find looks an account up by what a support engineer has: an email (any
// name with an "@"), else an account id or a user name. A name that is an
// id of one account and the user name of another is ErrAmbiguousAccount;
// one that is neither, ErrUnknownAccount.
func (p *Support) Find(ctx context.Context, name string) (Account, error) {
	dir := p.s.accounts
	if strings.Contains(name, "@") {
		email, err := ParseEmail(name)
		if err != nil {
			return Account{}, err
		}
		return dir.AccountByEmail(ctx, email.String())
	}
	byID, err := dir.AccountByID(ctx, name)
	if err != nil && !errors.Is(err, ErrUnknownAccount) {
		return Account{}, err
	}
	idFound := err == nil
	var byName Account
	username, perr := ParseUsername(name)
	nameFound := false
	if perr == nil {
		byName, err = dir.AccountByUsername(ctx, username)
		if err != nil && !errors.Is(err, ErrUnknownAccount) {
			return Account{}, err
		}
		nameFound = err == nil
	}
	switch {
	case idFound && nameFound && byID.ID != byName.ID:
		return Account{}, ErrAmbiguousAccount
	case idFound:
		return byID, nil
	case nameFound:
		return byName, nil
	}
	return Account{}, ErrUnknownAccount
}

// names are the account's names and its owner key: the email it has, and
// its user name if it has one, as requests by them are kept.
func (p *Support) names(ctx context.Context, acct Account) ([]NameKey, recipient, error) {
	key, err := p.s.keys.Subject(ctx)
	if err != nil {
		return nil, recipient{}, fmt.Errorf("subject key: %w", err)
	}
	email, err := ParseEmail(acct.Email)
	if err != nil {
		return nil, recipient{}, fmt.Errorf("the account's stored email: %w", err)
	}
	byEmail := Lookup{Email: email}
	to := recipient{acct: acct, mail: true, subject: subject(key, byEmail), subjectKey: key}
	to.owner = owner(key, to)
	names := []NameKey{{By: byEmail.kind(), Subject: to.subject}}
	if acct.Username != "" {
		byName := Lookup{Username: acct.Username}
		names = append(names, NameKey{By: byName.kind(), Subject: subject(key, byName)})
	}
	return names, to, nil
}

// SentLink is a link Support issued.
type SentLink struct {
	// URL is the link, set only when it was not mailed (SendLink's
	// print): the one place a token leaves the service but a mail.
	URL       string
	ExpiresAt time.Time
	hash      TokenHash
}

// SendLink issues a reset link to an active account, as RequestLink does
// for its stored email: it is counted against the email's and the
// account's send limits (not the per-IP one: there is no request), becomes
// the account's latest record, killing every earlier code and link, and
// works until LinkTTL. It is mailed to the stored address, or, with print,
// returned in URL and mailed to no one.
//
// Errors: ErrInactiveAccount, *LimitError with ErrRateLimited (the
// account-wide limit gives no time: read State), or a wrapped dependency
// failure; a mail that failed is withdrawn first, as in the flows.
func (p *Support) SendLink(ctx context.Context, acct Account, print bool) (SentLink, error) {
	s := p.s
	if !acct.Active {
		return SentLink{}, ErrInactiveAccount
	}
	_, to, err := p.names(ctx, acct)
	if err != nil {
		return SentLink{}, err
	}
	now := s.now()
	token, rec, err := s.newLink(to, now) // to is the account's own: mail is true
	if err != nil {
		return SentLink{}, err
	}
	allowed, err := s.store.IssueLink(ctx, rec, s.sendLimit(), now)
	if err != nil {
		return SentLink{}, fmt.Errorf("issue link: %w", err)
	}
	if !allowed {
		// Stored, counted on the name, and dead: not the latest.
		return SentLink{}, &LimitError{Err: ErrRateLimited, Scope: ScopeAccount}
	}
	// The store keeps the expiry in whole seconds.
	sent := SentLink{ExpiresAt: rec.ExpiresAt.Truncate(time.Second), hash: rec.Hash}
	link := linkURL(s.settings.ResetURL, token)
	if print {
		sent.URL = link
		return sent, nil
	}
	if err := s.mailLink(ctx, to, "", rec, link); err != nil {
		return SentLink{}, fmt.Errorf("send link mail (the link was withdrawn): %w", err)
	}
	return sent, nil
}

// Compromise is what Compromised did.
type Compromise struct {
	// Again: a link an earlier Compromised mailed is still the account's
	// live record, so nothing was killed, bumped or mailed this time; the
	// sessions were ended again.
	Again bool
	// VersionBumped: the account's session_version moved (DynamoDB users
	// table).
	VersionBumped bool
	// SessionsEnded: the configured Sessions (a sessions table, or the
	// hook) ended the account's sessions; false when none is configured or
	// it failed (SessionsErr).
	SessionsEnded bool
	// SessionsErr is why the sessions were not ended, when the configured
	// Sessions failed; the kill and the mail went ahead regardless.
	SessionsErr error
	Killed      Killed
	// Link is the link mailed; zero when the mail could not go (see the
	// error).
	Link SentLink
	// LinkExpiresAt is, when Again, when the earlier run's link dies.
	LinkExpiresAt time.Time
}

// Compromised treats the account's password as known to someone else: it
// kills every outstanding code, link and grant, bumps its session_version
// where the back-end keeps one, ends its sessions where Sessions is
// configured, and mails a reset link to its stored address. The password
// itself is left as it is.
//
// It is idempotent: run again while the link it mailed is the account's
// live record (unexpired, and issued under the account's session_version:
// a password changed since killed it), it ends the sessions again and
// leaves the link alone (a new kill would leave the user with a dead link
// and, within MIN_SEND_INTERVAL, no new one).
//
// Each step is tried whatever the one before it did, once the kill is
// done: a failed bump or session end (a hook outage, a throttled global
// sign-out) does not keep the kill, which on the webhook and Cognito
// back-ends is all that stops the outstanding secrets, nor the mail. The
// error then joins every failure (the bump, the sessions, and
// ErrInactiveAccount, *LimitError or the mail's), beside what was done.
// Only a failed kill stops it: no link is mailed while older ones work.
func (p *Support) Compromised(ctx context.Context, acct Account) (Compromise, error) {
	var done Compromise
	names, to, err := p.names(ctx, acct)
	if err != nil {
		return done, err
	}
	st, err := p.recoveryState(ctx, acct, names, to.owner, p.s.now())
	if err != nil {
		return done, err
	}
	if st.Live == "link" && st.Link != nil && st.Link.FromSupport {
		done.Again, done.LinkExpiresAt = true, st.Link.ExpiresAt
		done.SessionsEnded, done.SessionsErr = p.endSessions(ctx, acct.ID)
		return done, done.SessionsErr
	}
	if done.Killed, err = p.store.KillSecrets(ctx, names, to.owner, p.s.now()); err != nil {
		return done, fmt.Errorf("kill codes and links: %w", err)
	}
	var bumpErr error
	if p.versions != nil {
		if bumpErr = p.versions.BumpSessionVersion(ctx, acct.ID); bumpErr != nil {
			bumpErr = fmt.Errorf("bump session_version: %w", bumpErr)
		}
	}
	done.VersionBumped = p.versions != nil && bumpErr == nil
	done.SessionsEnded, done.SessionsErr = p.endSessions(ctx, acct.ID)
	if done.VersionBumped {
		// The new link is issued under the new version.
		if acct, err = p.s.accounts.AccountByID(ctx, acct.ID); err != nil {
			return done, errors.Join(fmt.Errorf("read account again: %w", err), done.SessionsErr)
		}
	}
	link, err := p.SendLink(ctx, acct, false)
	if err == nil {
		done.Link = link
		if err = p.store.MarkSupportLink(ctx, to.owner, link.hash); err != nil {
			err = fmt.Errorf("mark the link as support's: %w", err)
		}
	}
	return done, errors.Join(err, bumpErr, done.SessionsErr)
}

func (p *Support) endSessions(ctx context.Context, id string) (bool, error) {
	if p.s.sessions == nil {
		return false, nil
	}
	if err := p.s.sessions.EndSessions(ctx, id); err != nil {
		return false, fmt.Errorf("end sessions: %w", err)
	}
	return true, nil
}

func (p *Support) limits() StateLimits {
	return StateLimits{Send: p.s.sendLimit(), Guess: p.s.guessLimit()}
}

// recoveryState is the store's RecoveryState read against the account: a
// code or link issued under another session_version than the account's is
// dead, as the reset routes find it (a password changed since, elsewhere
// too), whatever is stored.
//
// The link's binding to the address is not checked here: it is keyed by
// the token, which Support does not have. A changed address moves no
// session_version on every back-end, so such a link can read as live.
func (p *Support) recoveryState(ctx context.Context, acct Account, names []NameKey, owner string, now time.Time) (RecoveryState, error) {
	st, err := p.store.RecoveryState(ctx, names, owner, p.limits(), now)
	if err != nil {
		return RecoveryState{}, fmt.Errorf("read recovery state: %w", err)
	}
	for _, n := range st.Names {
		if c := n.Code; c != nil && c.SessionVersion != acct.SessionVersion {
			c.Live = false
		}
	}
	if l := st.Link; l != nil && l.SessionVersion != acct.SessionVersion {
		l.Live = false
	}
	switch st.Live {
	case "code":
		st.Live = ""
		for _, n := range st.Names {
			if n.Code != nil && n.Code.Live {
				st.Live = "code"
			}
		}
	case "link", "grant":
		if st.Link == nil || !st.Link.Live {
			st.Live = ""
		}
	}
	return st, nil
}

// State reads the account's recovery state as of now, and works out when
// each send frees.
func (p *Support) State(ctx context.Context, acct Account) (RecoveryState, error) {
	names, to, err := p.names(ctx, acct)
	if err != nil {
		return RecoveryState{}, err
	}
	now := p.s.now()
	limit := p.s.sendLimit()
	st, err := p.recoveryState(ctx, acct, names, to.owner, now)
	if err != nil {
		return RecoveryState{}, err
	}
	for i := range st.Names {
		n := &st.Names[i]
		var next time.Time
		if !n.LastSentAt.IsZero() {
			next = n.LastSentAt.Add(limit.MinInterval)
		}
		if n.Sends.Full() && n.Sends.FreesAt.After(next) {
			next = n.Sends.FreesAt
		}
		if next.After(now) {
			n.NextSendAt = next
		}
	}
	// A mail to the email goes when its name and the account both allow.
	next := st.Names[0].NextSendAt
	if st.Sends.Full() && st.Sends.FreesAt.After(next) {
		next = st.Sends.FreesAt
	}
	if next.After(now) {
		st.NextSendAt = next
	}
	return st, nil
}
