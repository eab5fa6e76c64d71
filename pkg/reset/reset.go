// Package reset holds the four password-reset flows: request a code, reset
// with a code, request a link, reset with a link. It knows nothing of HTTP or
// of DynamoDB: the flows talk to a Directory of accounts, a Store of codes,
// links and counters, a Mailer and a Keys that the callers provide, and
// return the sentinel errors declared in errors.go.
//
// The rules that must hold under concurrency (attempt counting, send limits,
// single use) live in the Store's conditional writes; the flows decide what to
// write and in which order, and why, at the line that does it.
package reset

import (
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// Settings are the contract's shared rules, read once at cold start.
type Settings struct {
	OTPLength int
	OTPTTL    time.Duration
	LinkTTL   time.Duration
	// GrantTTL is how long a grant (VerifyCode) can set the password.
	GrantTTL          time.Duration
	MaxAttempts       int
	MaxSendsPerHour   int
	MinSendInterval   time.Duration
	IPLimit           int
	IPWindow          time.Duration
	MaxFailuresPerDay int
	// RevealUnknownAccounts gives the seeds' "not found" answers instead of
	// answering an unknown account exactly like a known one.
	RevealUnknownAccounts bool
	// ResetURL is where a link mail points; "{token}" is replaced by the
	// token, or the token is appended as the last path segment.
	ResetURL string
}

// Windows the contract fixes rather than configures.
const (
	sendWindow    = time.Hour
	failureWindow = 24 * time.Hour
)

// Account is what the flows need of a user record.
type Account struct {
	ID             string // the users table's key value
	Email          string // the stored address: the only recipient of any mail
	Username       string
	PasswordHash   string
	SessionVersion int64
	// Active is false for an account that is not verified or is disabled:
	// it gets no mail and is answered like an unknown one.
	Active bool
	// Language is the account's own language for its mails ("de",
	// "es-MX"), read with the rest of the record; "" when it has none.
	Language string
}

// Directory is where the accounts live and are found: by the email or
// user name asked for, and by the id a code or link names. A name no
// account has is ErrUnknownAccount; one that several accounts share,
// ErrAmbiguousAccount.
type Directory interface {
	AccountByEmail(ctx context.Context, email string) (Account, error)
	AccountByUsername(ctx context.Context, username string) (Account, error)
	AccountByID(ctx context.Context, id string) (Account, error)
}

// Store keeps codes, links and counters. Its writes enforce the limits
// atomically; see pkg/dynamo for the conditions. Consuming a code or a
// link also sets the account's password, in the same transaction: the
// Store and the Directory are then one DynamoDB account's tables.
//
// Two kinds of state: a name's (the email or user name asked for, under
// its keyed hash: its code, its send and failure limits), whose effects
// the caller sees; and an owner's (an account's, or a decoy's), holding
// the account-wide rules that must not show in any answer: which record
// is the one live secret, and the account-wide send and failure limits.
type Store interface {
	// CountRequest counts one request from ip for purpose within limit.
	CountRequest(ctx context.Context, purpose, ip string, limit Limit, now time.Time) error
	// IssueCode replaces the name's code with rec if the name's send
	// limits allow, and makes rec its owner's latest record. mail is false
	// when the owner's account-wide send limit is spent: rec is stored and
	// counted like any other, and no mail may go out.
	IssueCode(ctx context.Context, rec CodeRecord, limit SendLimit, now time.Time) (mail bool, err error)
	// WithdrawCode takes back a code whose mail could not be sent.
	WithdrawCode(ctx context.Context, rec CodeRecord, limit SendLimit) error
	// CountGuess counts a guess at the name's code before it is compared
	// and returns the code as it stands after the count.
	CountGuess(ctx context.Context, subject string, limit GuessLimit, now time.Time) (CodeRecord, error)
	// CountOwnerFailure counts the same guess against the owner's
	// account-wide failure budget. counted is false when no place was
	// left; spent is true when none is left now.
	CountOwnerFailure(ctx context.Context, owner string, limit Limit, now time.Time) (counted, spent bool, err error)
	// ClaimNotice reports whether the owner is to be told of guessing now,
	// and records it, unless it was told within window.
	ClaimNotice(ctx context.Context, owner string, window time.Duration, now time.Time) (bool, error)
	// ConsumeCode deletes the code, sets the password and stores done
	// (retry.go) in one transaction.
	ConsumeCode(ctx context.Context, rec CodeRecord, acct Account, newHash string, done Receipt, limit GuessLimit, now time.Time) error
	// ExchangeCode deletes the code and stores grant, a link that is
	// never mailed, as the owner's latest record in its place, in one
	// transaction conditioned on the code (the one checked, unexpired,
	// unclaimed) and the owner's latest record: ErrInvalidCode when the
	// code cannot be used. Unlike ConsumeCode's, nothing in it is
	// conditioned on the account: that is checked again when the grant is
	// used.
	ExchangeCode(ctx context.Context, rec CodeRecord, grant LinkRecord, limit GuessLimit, now time.Time) error
	// ClaimCode marks the code as being used until now+claimFor, on
	// condition that it is the one checked, unexpired, unclaimed (or its
	// claim ran out) and its owner's latest: ErrInvalidCode otherwise.
	// FinishCode then deletes it, as ConsumeCode does without the
	// password, and stores done unless it is the zero Receipt;
	// ReleaseCode lifts the claim. (complete.go: for a Directory that sets
	// passwords itself.)
	ClaimCode(ctx context.Context, rec CodeRecord, now time.Time, claimFor time.Duration) error
	FinishCode(ctx context.Context, rec CodeRecord, done Receipt, limit GuessLimit) error
	ReleaseCode(ctx context.Context, rec CodeRecord) error

	// IssueLink stores rec and makes it its owner's latest record if the
	// send limits allow; mail as in IssueCode.
	IssueLink(ctx context.Context, rec LinkRecord, limit SendLimit, now time.Time) (mail bool, err error)
	// WithdrawLink takes back a link whose mail could not be sent.
	WithdrawLink(ctx context.Context, rec LinkRecord, limit SendLimit) error
	// FindLink returns the link stored under hash.
	FindLink(ctx context.Context, hash TokenHash, now time.Time) (LinkRecord, error)
	// ConsumeLink deletes the link, sets the password and stores done in
	// one transaction.
	ConsumeLink(ctx context.Context, rec LinkRecord, acct Account, newHash string, done Receipt, now time.Time) error
	// ClaimLink, FinishLink and ReleaseLink are ClaimCode's, for a link:
	// ErrInvalidToken when it cannot be claimed.
	ClaimLink(ctx context.Context, rec LinkRecord, now time.Time, claimFor time.Duration) error
	FinishLink(ctx context.Context, rec LinkRecord, done Receipt) error
	ReleaseLink(ctx context.Context, rec LinkRecord) error
	// FindReceipt returns the receipt named of, ok false when there is
	// none or it is past its Until.
	FindReceipt(ctx context.Context, of string, now time.Time) (r Receipt, ok bool, err error)
	// IsLatest reports, without writing, whether the record id is still
	// its owner's latest.
	IsLatest(ctx context.Context, owner, id string) (bool, error)
}

// Mailer sends the mails of the service, always to an address read from
// the account, never to one from the request.
type Mailer interface {
	SendCode(ctx context.Context, to Recipient, code Code, ttl time.Duration) error
	SendLink(ctx context.Context, to Recipient, link string, ttl time.Duration) error
	SendPasswordChanged(ctx context.Context, to Recipient, at time.Time) error
	// SendGuessingNotice tells the owner that someone tried many codes on
	// the account, that nothing changed, and what to do.
	SendGuessingNotice(ctx context.Context, to Recipient) error
}

// Recipient is whom a mail goes to: the address stored on the account,
// and what the Mailer chooses the mail's language by (the account's own,
// then the request's Accept-Language, then its default).
type Recipient struct {
	Email          string
	Language       string // Account.Language
	AcceptLanguage string // the request's header, as sent
}

// recipientOf is the Recipient of a mail about acct, sent while answering
// a request that carried acceptLanguage. Both are at hand on every path
// that mails, so choosing a language costs no call.
func recipientOf(acct Account, acceptLanguage string) Recipient {
	return Recipient{Email: acct.Email, Language: acct.Language, AcceptLanguage: acceptLanguage}
}

// Sessions ends an account's sessions in the app's own store once a reset
// has changed its password (docs/contract.md: a reset "deletes its
// sessions where a sessions table is configured"). The session_version
// bump in the password's transaction is the rule every app can check;
// this is the app's sessions actually gone.
type Sessions interface {
	// EndSessions ends every session of the account id. Ending none is
	// no error.
	EndSessions(ctx context.Context, accountID string) error
}

// Keys holds the HMAC keys codes and account subjects are hashed with.
type Keys interface {
	// Current is the key new records are written with.
	Current(ctx context.Context) (Key, error)
	// ByID finds the key a stored record names, current or retired.
	ByID(ctx context.Context, id string) (Key, error)
	// Subject is the key the names of an account's records and counters
	// in the tokens table are derived with. It stays the same when the
	// code key rotates, so a rotation restarts no limit and loses no code.
	Subject(ctx context.Context) (Key, error)
}

// Key is one HMAC key and the id stored beside what it hashed.
type Key struct {
	ID     string
	Secret []byte
}

// Hasher turns a new password into the string the users table stores.
type Hasher interface {
	Hash(plain string) (string, error)
}

// Breaches tells whether a password is known from a data breach
// (password.Pwned). An error means it could not tell.
type Breaches interface {
	Breached(ctx context.Context, plain string) (bool, error)
}

// Service runs the flows. Build it with New.
type Service struct {
	accounts  Directory
	passwords Passwords
	store     Store
	mailer    Mailer
	keys      Keys
	hasher    Hasher
	policy    password.Policy
	breaches  Breaches
	sessions  Sessions
	settings  Settings
	now       func() time.Time
	random    io.Reader
	log       *slog.Logger
	mailTime  *latencySample
}

// Deps are the Service's collaborators. Now and Random default to the wall
// clock and crypto/rand; tests inject a fake clock instead of sleeping.
type Deps struct {
	Accounts Directory
	// Passwords, if not nil, sets passwords in the Directory, which then
	// cannot join the Store's transaction: resets complete in two phases
	// (complete.go). Nil for the Store's own users table.
	Passwords Passwords
	Store     Store
	Mailer    Mailer
	Keys      Keys
	Hasher    Hasher
	Policy    password.Policy
	// Breaches, if not nil, is asked about a new password once its code or
	// link has proved right; nil skips the check.
	Breaches Breaches
	// Sessions, if not nil, ends the account's sessions after every
	// completed reset; nil leaves them to session_version alone.
	Sessions Sessions
	Now      func() time.Time
	Random   io.Reader
	Log      *slog.Logger
}

// New returns a Service over deps with settings.
func New(deps Deps, settings Settings) *Service {
	s := &Service{
		accounts:  deps.Accounts,
		passwords: deps.Passwords,
		store:     deps.Store,
		mailer:    countingMailer{deps.Mailer}, // counts.go: every mail counted
		keys:      deps.Keys,
		hasher:    deps.Hasher,
		policy:    deps.Policy,
		breaches:  deps.Breaches,
		sessions:  deps.Sessions,
		settings:  settings,
		now:       deps.Now,
		random:    deps.Random,
		log:       deps.Log,
		mailTime:  newLatencySample(),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Limit is a count allowed within a window.
type Limit struct {
	Max    int
	Window time.Duration
}

// SendLimit bounds the mails sent to one account: Max per Window and at
// least MinInterval between two.
type SendLimit struct {
	Limit
	MinInterval time.Duration
}

// GuessLimit bounds guesses: MaxAttempts per code, and Failures per account
// across all its codes, which a new code does not restore. NewCodeAfter is
// the least time between two sends, for telling a client with a dead code
// when it may ask for another.
type GuessLimit struct {
	MaxAttempts  int
	Failures     Limit
	NewCodeAfter time.Duration
}

func (s *Service) ipLimit() Limit {
	return Limit{Max: s.settings.IPLimit, Window: s.settings.IPWindow}
}

func (s *Service) sendLimit() SendLimit {
	return SendLimit{
		Limit:       Limit{Max: s.settings.MaxSendsPerHour, Window: sendWindow},
		MinInterval: s.settings.MinSendInterval,
	}
}

func (s *Service) guessLimit() GuessLimit {
	return GuessLimit{
		MaxAttempts:  s.settings.MaxAttempts,
		Failures:     Limit{Max: s.settings.MaxFailuresPerDay, Window: failureWindow},
		NewCodeAfter: s.settings.MinSendInterval,
	}
}

// Request purposes, each with its own per-IP counter.
const (
	PurposeSend   = "send"
	PurposeVerify = "verify"
)
