package reset

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// The hand-written fakes the flow tests run on, in place of DynamoDB Local
// and the SES emulator. memStore keeps the rules pkg/dynamo puts in its
// condition expressions, in plain Go under one mutex: it models the rules,
// not DynamoDB's atomicity, and it compares times as they are where
// DynamoDB compares Unix seconds (the test clock moves in whole seconds).

// memStore is an in-memory Directory and Store: accounts by id, a name's item (its code,
// its newest link, its send and failure windows) by subject, an owner's
// item (its latest record id, its send and failure windows, its last
// notice) by owner, links by hash, and per-IP windows.
type memStore struct {
	mu       sync.Mutex
	accounts map[string]Account
	names    map[string]*nameState
	owners   map[string]*ownerState
	links    map[TokenHash]LinkRecord
	requests map[string]events    // by purpose and IP
	claims   map[string]time.Time // a claimed code's id or link's hash: until when
	receipts map[string]Receipt   // by Of

	calls []string         // the methods called, in order
	fail  map[string]error // makes a method fail, for the fault rows
}

type nameState struct {
	code     *CodeRecord // nil when the name has no code
	linkHash TokenHash   // the name's newest link, for withdrawing it
	lastSent time.Time
	sends    events
	failures events
}

type ownerState struct {
	latest   string // id of the account's one live code or link
	sends    events
	failures events
	noticeAt time.Time
}

func newMemStore(accounts ...Account) *memStore {
	s := &memStore{
		accounts: map[string]Account{},
		names:    map[string]*nameState{},
		owners:   map[string]*ownerState{},
		links:    map[TokenHash]LinkRecord{},
		requests: map[string]events{},
		claims:   map[string]time.Time{},
		receipts: map[string]Receipt{},
		fail:     map[string]error{},
	}
	for _, a := range accounts {
		s.accounts[a.ID] = a
	}
	return s
}

var _ Store = (*memStore)(nil)

// events are the times of what a sliding window counted, oldest first.
type events []time.Time

// room reports whether one more event fits limit at now and, when not,
// when enough events will have left the window for one to fit.
func (e events) room(limit Limit, now time.Time) (ok bool, frees time.Time) {
	var in []time.Time
	for _, t := range e {
		if t.After(now.Add(-limit.Window)) {
			in = append(in, t)
		}
	}
	if len(in) < limit.Max {
		return true, time.Time{}
	}
	return false, in[len(in)-limit.Max].Add(limit.Window)
}

func (e *events) add(now time.Time) { *e = append(*e, now) }

// undo takes back the newest event: one counted before it was known not
// to be one (a right guess, a mail that never left).
func (e *events) undo() {
	if len(*e) > 0 {
		*e = (*e)[:len(*e)-1]
	}
}

func limitErr(reason error, scope LimitScope, frees, now time.Time) error {
	return &LimitError{Err: reason, RetryAfter: frees.Sub(now), Scope: scope}
}

// call records a call and returns the error the test made it fail with.
// The caller holds s.mu.
func (s *memStore) call(method string) error {
	s.calls = append(s.calls, method)
	return s.fail[method]
}

func (s *memStore) findAccount(match func(Account) bool) (Account, error) {
	var found []Account
	for _, a := range s.accounts {
		if match(a) {
			found = append(found, a)
		}
	}
	switch len(found) {
	case 0:
		return Account{}, ErrUnknownAccount
	case 1:
		// A lookup by name reads no password hash, like the index query.
		found[0].PasswordHash = ""
		return found[0], nil
	default:
		return Account{}, ErrAmbiguousAccount
	}
}

func (s *memStore) AccountByEmail(ctx context.Context, email string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("AccountByEmail"); err != nil {
		return Account{}, err
	}
	return s.findAccount(func(a Account) bool { return a.Email == email })
}

func (s *memStore) AccountByUsername(ctx context.Context, username string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("AccountByUsername"); err != nil {
		return Account{}, err
	}
	return s.findAccount(func(a Account) bool { return a.Username != "" && a.Username == username })
}

func (s *memStore) AccountByID(ctx context.Context, id string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("AccountByID"); err != nil {
		return Account{}, err
	}
	a, ok := s.accounts[id]
	if !ok {
		return Account{}, ErrUnknownAccount
	}
	return a, nil
}

func (s *memStore) CountRequest(ctx context.Context, purpose, ip string, limit Limit, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("CountRequest"); err != nil {
		return err
	}
	key := purpose + " " + ip
	w := s.requests[key]
	// Rule: at most limit.Max requests from one IP in any window.
	if ok, frees := w.room(limit, now); !ok {
		return limitErr(ErrRateLimited, ScopeIP, frees, now)
	}
	w.add(now)
	s.requests[key] = w
	return nil
}

// sendAllowed is the rule on mails to a name.
func (n *nameState) sendAllowed(limit SendLimit, now time.Time) error {
	// Rule: at least MinInterval since the last mail to this name.
	if !n.lastSent.IsZero() && n.lastSent.After(now.Add(-limit.MinInterval)) {
		return limitErr(ErrRateLimited, ScopeInterval, n.lastSent.Add(limit.MinInterval), now)
	}
	// Rule: at most Max mails in any window.
	if ok, frees := n.sends.room(limit.Limit, now); !ok {
		return limitErr(ErrRateLimited, ScopeAccount, frees, now)
	}
	return nil
}

func (n *nameState) sent(now time.Time) {
	n.lastSent = now
	n.sends.add(now)
}

// issue checks the name's send limits, stores the record with store and
// makes it the owner's latest. The owner's account-wide send limit does
// not refuse: the record is stored and counted on the name, not made the
// latest (the owner's live secret stays), and mail is false.
func (s *memStore) issue(subject, owner, id string, limit SendLimit, now time.Time, store func(*nameState)) (mail bool, err error) {
	n := s.names[subject]
	if n == nil {
		n = &nameState{}
	}
	if err := n.sendAllowed(limit, now); err != nil {
		return false, err
	}
	store(n)
	n.sent(now)
	s.names[subject] = n
	o := s.owner(owner)
	// Rule: at most Max mails to the account in any window, whichever of
	// its names they were asked by.
	if ok, _ := o.sends.room(limit.Limit, now); !ok {
		return false, nil
	}
	o.latest = id
	o.sends.add(now)
	return true, nil
}

func (s *memStore) owner(owner string) *ownerState {
	o := s.owners[owner]
	if o == nil {
		o = &ownerState{}
		s.owners[owner] = o
	}
	return o
}

// withdrawLatest gives the owner's send back and unnames its latest
// record, if that is still id.
func (s *memStore) withdrawLatest(owner, id string) {
	if o := s.owners[owner]; o != nil && o.latest == id {
		o.latest = ""
		o.sends.undo()
	}
}

func (s *memStore) IssueCode(ctx context.Context, rec CodeRecord, limit SendLimit, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("IssueCode"); err != nil {
		return false, err
	}
	return s.issue(rec.Subject, rec.Owner, rec.ID, limit, now, func(n *nameState) {
		rec.Attempts = 0
		n.code = &rec // replaces the name's earlier code; its failures stay
	})
}

func (s *memStore) WithdrawCode(ctx context.Context, rec CodeRecord, limit SendLimit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("WithdrawCode"); err != nil {
		return err
	}
	// Rule: only the code this request wrote.
	if n := s.names[rec.Subject]; n != nil && n.code != nil && n.code.ID == rec.ID {
		n.code = nil
		n.lastSent = time.Time{}
		n.sends.undo()
	}
	s.withdrawLatest(rec.Owner, rec.ID)
	return nil
}

func (s *memStore) CountGuess(ctx context.Context, subject string, limit GuessLimit, now time.Time) (CodeRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("CountGuess"); err != nil {
		return CodeRecord{}, err
	}
	n := s.names[subject]
	// Rule: a live code, unexpired, with guesses left, on a name with
	// failures left in the last day.
	switch {
	case n == nil || n.code == nil:
		return CodeRecord{}, ErrNoCode
	case !n.code.ExpiresAt.After(now):
		return CodeRecord{}, ErrExpired
	case n.code.Attempts >= limit.MaxAttempts:
		return CodeRecord{}, limitErr(ErrTooManyAttempts, ScopeCode, n.lastSent.Add(limit.NewCodeAfter), now)
	}
	if ok, frees := n.failures.room(limit.Failures, now); !ok {
		return CodeRecord{}, limitErr(ErrTooManyAttempts, ScopeAccount, frees, now)
	}
	n.code.Attempts++
	n.failures.add(now)
	return *n.code, nil
}

func (s *memStore) CountOwnerFailure(ctx context.Context, owner string, limit Limit, now time.Time) (counted, spent bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("CountOwnerFailure"); err != nil {
		return false, false, err
	}
	o := s.owner(owner)
	if ok, _ := o.failures.room(limit, now); !ok {
		return false, true, nil
	}
	o.failures.add(now)
	room, _ := o.failures.room(limit, now)
	return true, !room, nil
}

func (s *memStore) ClaimNotice(ctx context.Context, owner string, window time.Duration, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ClaimNotice"); err != nil {
		return false, err
	}
	o := s.owner(owner)
	// Rule: one notice per window.
	if !o.noticeAt.IsZero() && o.noticeAt.After(now.Add(-window)) {
		return false, nil
	}
	o.noticeAt = now
	return true, nil
}

// passwordSettable is the users-table half of a reset: the account still
// exists, with the session_version the record was issued under and the
// email the flow just checked.
func (s *memStore) passwordSettable(acct Account, sessionVersion int64) bool {
	a, ok := s.accounts[acct.ID]
	return ok && a.SessionVersion == sessionVersion && a.Email == acct.Email
}

func (s *memStore) setPassword(id, newHash string) {
	a := s.accounts[id]
	a.PasswordHash = newHash
	a.SessionVersion++
	s.accounts[id] = a
}

func (s *memStore) ConsumeCode(ctx context.Context, rec CodeRecord, acct Account, newHash string, done Receipt, limit GuessLimit, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ConsumeCode"); err != nil {
		return err
	}
	n, o := s.names[rec.Subject], s.owners[rec.Owner]
	// Rules: the very code that was checked, still unexpired; the
	// account's latest code or link; the password and email unchanged.
	if n == nil || n.code == nil || n.code.ID != rec.ID || !n.code.ExpiresAt.After(now) ||
		o == nil || o.latest != rec.ID || !s.passwordSettable(acct, rec.SessionVersion) || s.claimed(rec.ID, now) {
		return ErrInvalidCode
	}
	n.code = nil
	// The right guess was counted as a failure before it was compared.
	n.failures.undo()
	o.failures.undo()
	s.setPassword(acct.ID, newHash)
	s.keep(done)
	return nil
}

func (s *memStore) ExchangeCode(ctx context.Context, rec CodeRecord, grant LinkRecord, limit GuessLimit, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ExchangeCode"); err != nil {
		return err
	}
	n, o := s.names[rec.Subject], s.owners[rec.Owner]
	// Rules: as ConsumeCode's on the code; the grant takes its place as
	// the account's latest.
	if n == nil || n.code == nil || n.code.ID != rec.ID || !n.code.ExpiresAt.After(now) ||
		o == nil || o.latest != rec.ID || s.claimed(rec.ID, now) {
		return ErrInvalidCode
	}
	if _, taken := s.links[grant.Hash]; taken {
		return errors.New("memStore: grant exists")
	}
	n.code = nil
	n.failures.undo()
	o.failures.undo()
	o.latest = string(grant.Hash)
	s.links[grant.Hash] = grant
	return nil
}

// keep stores a receipt; the zero Receipt is none.
func (s *memStore) keep(done Receipt) {
	if done != (Receipt{}) {
		s.receipts[done.Of] = done
	}
}

func (s *memStore) FindReceipt(ctx context.Context, of string, now time.Time) (Receipt, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FindReceipt"); err != nil {
		return Receipt{}, false, err
	}
	r, ok := s.receipts[of]
	if !ok || !r.Until.After(now) {
		return Receipt{}, false, nil
	}
	return r, true, nil
}

func (s *memStore) IssueLink(ctx context.Context, rec LinkRecord, limit SendLimit, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("IssueLink"); err != nil {
		return false, err
	}
	if _, taken := s.links[rec.Hash]; taken {
		return false, errors.New("memStore: link exists")
	}
	return s.issue(rec.Subject, rec.Owner, string(rec.Hash), limit, now, func(n *nameState) {
		s.links[rec.Hash] = rec
		n.linkHash = rec.Hash
	})
}

func (s *memStore) WithdrawLink(ctx context.Context, rec LinkRecord, limit SendLimit) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("WithdrawLink"); err != nil {
		return err
	}
	// Rule: only the link this request wrote. The link itself stays; not
	// being the latest any more kills it.
	if n := s.names[rec.Subject]; n != nil && n.linkHash == rec.Hash {
		n.linkHash = ""
		n.lastSent = time.Time{}
		n.sends.undo()
	}
	s.withdrawLatest(rec.Owner, string(rec.Hash))
	return nil
}

func (s *memStore) FindLink(ctx context.Context, hash TokenHash, now time.Time) (LinkRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("FindLink"); err != nil {
		return LinkRecord{}, err
	}
	rec, ok := s.links[hash]
	if !ok {
		return LinkRecord{}, ErrInvalidToken
	}
	if !rec.ExpiresAt.After(now) {
		return LinkRecord{}, ErrExpired
	}
	return rec, nil
}

func (s *memStore) ConsumeLink(ctx context.Context, rec LinkRecord, acct Account, newHash string, done Receipt, now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("ConsumeLink"); err != nil {
		return err
	}
	stored, ok := s.links[rec.Hash]
	o := s.owners[rec.Owner]
	// Rules: the link exists and is unexpired; it is the account's latest
	// code or link; the password and email are unchanged.
	if !ok || !stored.ExpiresAt.After(now) || o == nil || o.latest != string(rec.Hash) ||
		!s.passwordSettable(acct, rec.SessionVersion) || s.claimed(string(rec.Hash), now) {
		return ErrInvalidToken
	}
	delete(s.links, rec.Hash)
	s.setPassword(acct.ID, newHash)
	s.keep(done)
	return nil
}

func (s *memStore) IsLatest(ctx context.Context, owner, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.call("IsLatest"); err != nil {
		return false, err
	}
	o := s.owners[owner]
	return owner != "" && o != nil && o.latest != "" && o.latest == id, nil
}

// The methods that write, in DynamoDB terms.
var storeWrites = []string{
	"CountRequest", "IssueCode", "WithdrawCode", "CountGuess", "CountOwnerFailure",
	"ClaimNotice", "ConsumeCode", "IssueLink", "WithdrawLink", "ConsumeLink",
	"ClaimCode", "FinishCode", "ReleaseCode", "ClaimLink", "FinishLink", "ReleaseLink",
	"ExchangeCode",
}

// takeCalls returns the methods called since the last takeCalls.
func (s *memStore) takeCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.calls
	s.calls = nil
	return c
}

// account returns the stored account, whole.
func (s *memStore) account(id string) Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[id]
}

// editAccount changes an account as the app or an admin would.
func (s *memStore) editAccount(id string, edit func(*Account)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[id]
	edit(&a)
	s.accounts[id] = a
}

func (s *memStore) deleteAccount(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.accounts, id)
}

// code returns a copy of the name's code, if it has one.
func (s *memStore) code(subject string) (CodeRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.names[subject]
	if n == nil || n.code == nil {
		return CodeRecord{}, false
	}
	return *n.code, true
}

// latest returns the owner's latest record id.
func (s *memStore) latest(owner string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.owners[owner]; o != nil {
		return o.latest
	}
	return ""
}

// storeState is a deep copy of everything the store holds, to tell that a
// call changed nothing.
type storeState struct {
	Accounts map[string]Account
	Names    map[string]nameState
	Owners   map[string]ownerState
	Links    map[TokenHash]LinkRecord
	Requests map[string]events
}

func (s *memStore) snapshot() storeState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := storeState{
		Accounts: map[string]Account{},
		Names:    map[string]nameState{},
		Owners:   map[string]ownerState{},
		Links:    map[TokenHash]LinkRecord{},
		Requests: map[string]events{},
	}
	for k, v := range s.accounts {
		st.Accounts[k] = v
	}
	for k, v := range s.names {
		n := *v
		if v.code != nil {
			c := *v.code
			n.code = &c
		}
		n.sends, n.failures = slices.Clone(v.sends), slices.Clone(v.failures)
		st.Names[k] = n
	}
	for k, v := range s.owners {
		o := *v
		o.sends, o.failures = slices.Clone(v.sends), slices.Clone(v.failures)
		st.Owners[k] = o
	}
	for k, v := range s.links {
		st.Links[k] = v
	}
	for k, v := range s.requests {
		st.Requests[k] = slices.Clone(v)
	}
	return st
}

// sentMail is one mail the fake mailer sent.
type sentMail struct {
	Kind string // "code", "link", "changed" or "notice"
	To   string
	Code Code   // of a "code" mail
	Link string // of a "link" mail
	// Language and AcceptLanguage are what the mail's language is
	// chosen by (Recipient).
	Language, AcceptLanguage string
}

// fakeMailer records the mails it sends. A kind in fail makes every send
// of that kind fail with the error; such a mail is kept in failed.
type fakeMailer struct {
	mu     sync.Mutex
	sent   []sentMail
	failed []sentMail
	fail   map[string]error
}

var _ Mailer = (*fakeMailer)(nil)

func (m *fakeMailer) send(mail sentMail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.fail[mail.Kind]; err != nil {
		m.failed = append(m.failed, mail)
		return err
	}
	m.sent = append(m.sent, mail)
	return nil
}

func (m *fakeMailer) SendCode(ctx context.Context, to Recipient, code Code, ttl time.Duration) error {
	return m.send(sentMail{Kind: "code", To: to.Email, Language: to.Language, AcceptLanguage: to.AcceptLanguage, Code: code})
}

func (m *fakeMailer) SendLink(ctx context.Context, to Recipient, link string, ttl time.Duration) error {
	return m.send(sentMail{Kind: "link", To: to.Email, Language: to.Language, AcceptLanguage: to.AcceptLanguage, Link: link})
}

func (m *fakeMailer) SendPasswordChanged(ctx context.Context, to Recipient, at time.Time) error {
	return m.send(sentMail{Kind: "changed", To: to.Email, Language: to.Language, AcceptLanguage: to.AcceptLanguage})
}

func (m *fakeMailer) SendGuessingNotice(ctx context.Context, to Recipient) error {
	return m.send(sentMail{Kind: "notice", To: to.Email, Language: to.Language, AcceptLanguage: to.AcceptLanguage})
}

// failing makes sends of kind fail with err; nil stops it.
func (m *fakeMailer) failing(kind string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail == nil {
		m.fail = map[string]error{}
	}
	m.fail[kind] = err
}

// all returns the mails sent so far.
func (m *fakeMailer) all() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// refused returns the mails whose send failed so far.
func (m *fakeMailer) refused() []sentMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.failed)
}

// fakeKeys holds a current, a previous and a subject key. rotate makes a
// new current key and keeps the old one as previous; a key older than
// that is unknown.
type fakeKeys struct {
	mu                         sync.Mutex
	current, previous, subject Key
}

var _ Keys = (*fakeKeys)(nil)

var errUnknownKey = errors.New("unknown key id")

func (k *fakeKeys) Current(ctx context.Context) (Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.current, nil
}

func (k *fakeKeys) ByID(ctx context.Context, id string) (Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range []Key{k.current, k.previous} {
		if key.ID != "" && key.ID == id {
			return key, nil
		}
	}
	return Key{}, fmt.Errorf("key %q: %w", id, errUnknownKey)
}

func (k *fakeKeys) Subject(ctx context.Context) (Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.subject, nil
}

func (k *fakeKeys) rotate(next Key) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.previous, k.current = k.current, next
}

// fakeHasher "hashes" a password by prefixing it: the flows only store
// what it returns.
type fakeHasher struct{}

func (fakeHasher) Hash(plain string) (string, error) { return fakeHash(plain), nil }

func fakeHash(plain string) string { return "fake$" + plain }

// fakeBreaches knows some breached passwords, or fails with err.
type fakeBreaches struct {
	mu       sync.Mutex
	breached map[string]bool
	err      error
	asked    int
}

func (b *fakeBreaches) Breached(ctx context.Context, plain string) (bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asked++
	if b.err != nil {
		return false, b.err
	}
	return b.breached[plain], nil
}

// fakeSessions records the accounts whose sessions it was asked to end,
// and fails with err when it is set.
type fakeSessions struct {
	mu    sync.Mutex
	ended []string
	err   error
}

func (f *fakeSessions) EndSessions(ctx context.Context, accountID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, accountID)
	return f.err
}

// take returns the accounts asked for since the last take.
func (f *fakeSessions) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.ended
	f.ended = nil
	return out
}

func (f *fakeSessions) failing(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// logSink keeps what a text slog handler writes, without times.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logSink) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logSink) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}
