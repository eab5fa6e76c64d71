package reset

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	mathrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// The flows' decisions, each a named row of a table, run on the fakes of
// fakes_test.go: no JVM, no network, a clock and randomness injected. The
// decoy wait is the only real time spent: each service's mail latency
// sample holds decoyWait, so a row that expects the wait can tell it
// happened, and a row that expects none runs with longWait, which it
// would notice.

// The accounts every harness starts with.
var (
	alice = Account{ID: "u-alice", Email: "alice@example.test", Username: "alice.liddell", SessionVersion: 7, Active: true}
	// bob is not verified or disabled.
	bob = Account{ID: "u-bob", Email: "bob@example.test", Username: "bob.builder", SessionVersion: 1, Active: false}
	// twin1 and twin2 answer to one email and one user name, which a
	// users table that does not enforce uniqueness allows.
	twin1 = Account{ID: "u-twin-1", Email: "twin@example.test", Username: "twin.shared", Active: true}
	twin2 = Account{ID: "u-twin-2", Email: "twin@example.test", Username: "twin.shared", Active: true}
)

var (
	byAlice       = Lookup{Email: mustEmail(alice.Email)}
	byAliceName   = Lookup{Username: alice.Username}
	byBob         = Lookup{Email: mustEmail(bob.Email)}
	byTwins       = Lookup{Email: mustEmail(twin1.Email)}
	byTwinsName   = Lookup{Username: twin1.Username}
	byNobody      = Lookup{Email: mustEmail("nobody@example.test")}
	byNobodysName = Lookup{Username: "nobody.at.all"}
)

const (
	// newPassword passes the policy: not common, not an identity.
	newPassword = "Tangerine-Kayak-Orbit-42"
	// breachedPassword passes the policy; fakeBreaches knows it.
	breachedPassword = "Marmalade-Quilt-Falcon-77"
	clientIP         = "192.0.2.10"
	linkBase         = "https://reset.example.test/r/"

	// decoyWait is the mail latency every service starts with, so that a
	// decoy answer costs milliseconds, not defaultMailLatency.
	decoyWait = 5 * time.Millisecond
	// longWait is the sample a row that expects no wait runs with: a
	// wait where none belongs would cost this much, and be reported.
	longWait = 500 * time.Millisecond
)

// t0 is when every harness's clock starts: whole seconds, as DynamoDB
// keeps times.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func testSettings() Settings {
	return Settings{
		OTPLength:         6,
		OTPTTL:            10 * time.Minute,
		LinkTTL:           30 * time.Minute,
		GrantTTL:          5 * time.Minute,
		MaxAttempts:       5,
		MaxSendsPerHour:   3,
		MinSendInterval:   time.Minute,
		IPLimit:           100,
		IPWindow:          time.Hour,
		MaxFailuresPerDay: 20,
		ResetURL:          linkBase + "{token}",
	}
}

// reveal is the settings edit of the rows that reveal unknown accounts.
func reveal(s *Settings) { s.RevealUnknownAccounts = true }

// harness is one Service on fresh fakes.
type harness struct {
	svc      *Service
	store    *memStore
	mail     *fakeMailer
	keys     *fakeKeys
	clock    *fakeClock
	log      *logSink
	breaches *fakeBreaches
	sessions *fakeSessions
}

func newHarness(t *testing.T, edit func(*Settings)) *harness {
	t.Helper()
	settings := testSettings()
	if edit != nil {
		edit(&settings)
	}
	h := &harness{
		store: newMemStore(alice, bob, twin1, twin2),
		mail:  &fakeMailer{},
		keys: &fakeKeys{
			current:  Key{ID: "k2", Secret: []byte("the current code key, 32 bytes or more")},
			previous: Key{ID: "k1", Secret: []byte("the previous code key, 32 bytes or more")},
			subject:  Key{ID: "s1", Secret: []byte("the subject key, which never rotates....")},
		},
		clock:    &fakeClock{t: t0},
		log:      &logSink{},
		breaches: &fakeBreaches{breached: map[string]bool{breachedPassword: true}},
		sessions: &fakeSessions{},
	}
	var seed [32]byte
	copy(seed[:], t.Name())
	h.svc = New(Deps{
		Accounts: h.store,
		Store:    h.store,
		Mailer:   h.mail,
		Keys:     h.keys,
		Hasher:   fakeHasher{},
		Breaches: h.breaches,
		Sessions: h.sessions,
		Now:      h.clock.Now,
		Random:   mathrand.NewChaCha8(seed),
		Log:      h.log.logger(),
	}, settings)
	h.svc.mailTime.record(decoyWait)
	return h
}

// timed runs f with the mail latency sample holding only d, and returns
// how long f took.
func (h *harness) timed(d time.Duration, f func()) time.Duration {
	h.svc.mailTime = newLatencySample()
	h.svc.mailTime.record(d)
	start := time.Now()
	f()
	return time.Since(start)
}

// checkWait fails unless f spent a mail's time when wait, and none when not.
func checkWait(t *testing.T, h *harness, wait bool, f func()) {
	t.Helper()
	sample := longWait
	if wait {
		sample = decoyWait
	}
	took := h.timed(sample, f)
	switch {
	case wait && took < decoyWait:
		t.Errorf("took %v; want at least the decoy wait %v", took, decoyWait)
	case !wait && took >= longWait:
		t.Errorf("took %v; want no decoy wait (sample %v)", took, longWait)
	}
}

// requestCode asks for a code and returns the one mailed.
func (h *harness) requestCode(t *testing.T, req CodeRequest) Code {
	t.Helper()
	if req.IP == "" {
		req.IP = clientIP
	}
	n := len(h.mail.all())
	if err := h.svc.RequestCode(t.Context(), req); err != nil {
		t.Fatalf("RequestCode(%+v): %v", req, err)
	}
	mails := h.mail.all()
	if len(mails) != n+1 || mails[n].Kind != "code" {
		t.Fatalf("RequestCode(%+v): got mails %+v, want one more code", req, mails)
	}
	return mails[n].Code
}

// codeFor asks for a code by l and returns the one mailed.
func (h *harness) codeFor(t *testing.T, l Lookup) Code {
	t.Helper()
	return h.requestCode(t, CodeRequest{Account: l})
}

// linkFor asks for a link to email and returns the token mailed.
func (h *harness) linkFor(t *testing.T, email string) Token {
	t.Helper()
	n := len(h.mail.all())
	if err := h.svc.RequestLink(t.Context(), LinkRequest{Email: mustEmail(email), IP: clientIP}); err != nil {
		t.Fatalf("RequestLink(%q): %v", email, err)
	}
	mails := h.mail.all()
	if len(mails) != n+1 || mails[n].Kind != "link" {
		t.Fatalf("RequestLink(%q): got mails %+v, want one more link", email, mails)
	}
	return tokenOf(t, mails[n].Link)
}

func tokenOf(t *testing.T, link string) Token {
	t.Helper()
	tok, ok := strings.CutPrefix(link, linkBase)
	if !ok || !validToken(Token(tok)) {
		t.Fatalf("link %q: want %s and a token", link, linkBase)
	}
	return Token(tok)
}

// later moves the clock on by the least interval between two sends.
func (h *harness) later() { h.clock.advance(testSettings().MinSendInterval) }

func (h *harness) subjectOf(l Lookup) string { return subject(h.keys.subject, l) }

func (h *harness) ownerOf(a Account) string { return mac(h.keys.subject, "account", a.ID) }

func (h *harness) decoyOwnerOf(l Lookup) string {
	return mac(h.keys.subject, "decoy", h.subjectOf(l))
}

// guess tries code on the account named by l with newPassword.
func (h *harness) guess(t *testing.T, l Lookup, code Code) error {
	t.Helper()
	return h.svc.ResetWithCode(t.Context(), CodeReset{Account: l, Code: code, NewPassword: newPassword, IP: clientIP})
}

// wrong returns a code that is not c.
func wrong(c Code) Code {
	b := []byte(c)
	b[0] = '0' + (b[0]-'0'+1)%10
	return Code(b)
}

func ofKind(mails []sentMail, kind string) []sentMail {
	var out []sentMail
	for _, m := range mails {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

// rejected is the *password.Rejection the policy gives plain.
func rejected(plain string, identities ...string) error {
	err := password.Policy{}.Check(plain, identities...)
	if err == nil {
		panic("rejected: the policy allows " + plain)
	}
	return err
}

// is reports whether got is the outcome want: nil, an error errors.Is
// finds in got, or a *password.Rejection with the same reason.
func is(got, want error) bool {
	var wantR *password.Rejection
	if errors.As(want, &wantR) {
		var gotR *password.Rejection
		return errors.As(got, &gotR) && gotR.Reason == wantR.Reason
	}
	if want == nil {
		return got == nil
	}
	return errors.Is(got, want)
}

// checkCalls fails unless the store saw exactly want since the last take.
func checkCalls(t *testing.T, h *harness, want []string) {
	t.Helper()
	if got := h.store.takeCalls(); !slices.Equal(got, want) {
		t.Errorf("store calls: got %v, want %v", got, want)
	}
}

// checkLog fails unless a line of the log has level and holds each of parts.
func checkLog(t *testing.T, h *harness, level string, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(h.log.String(), "\n") {
		if !strings.Contains(line, "level="+level+" ") {
			continue
		}
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return
		}
	}
	t.Errorf("log: got %q, want a %s line with %q", h.log.String(), level, parts)
}

// checkNotInLog fails if the log holds any of secrets.
func checkNotInLog(t *testing.T, h *harness, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(h.log.String(), s) {
			t.Errorf("log: got %q, want no %q", h.log.String(), s)
		}
	}
}

// The store calls each kind of request makes; a decoy makes the same.
var (
	codeByEmailCalls = []string{"CountRequest", "AccountByEmail", "IssueCode"}
	codeByNameCalls  = []string{"CountRequest", "AccountByUsername", "IssueCode"}
	linkCalls        = []string{"CountRequest", "AccountByEmail", "IssueLink"}
	wrongGuessCalls  = []string{"CountRequest", "CountGuess", "CountOwnerFailure"}
)

// sentinels names the row that produces each exported error of errors.go,
// in the tables of the flow tests: TestSentinelsHaveRows keeps it whole.
var sentinels = []struct {
	name string // as declared in errors.go
	err  error
	// row is "Test/row" of a table row whose outcome is err; or produce
	// returns err, for the errors the parsers give before any flow runs.
	row     string
	produce func() error
	// answeredAs is what the row returns in place of err, for an error
	// the flows never return.
	answeredAs error
}{
	{name: "ErrInvalidEmail", err: ErrInvalidEmail, produce: func() error {
		_, err := ParseEmail("alice@example.test\r\nBcc: eve@example.test")
		return err
	}},
	{name: "ErrInvalidUsername", err: ErrInvalidUsername, produce: func() error {
		_, err := ParseUsername("alice liddell")
		return err
	}},
	{name: "ErrUnknownAccount", err: ErrUnknownAccount, row: "TestRequestCode/revealed: unknown email"},
	{name: "ErrInactiveAccount", err: ErrInactiveAccount, row: "TestRequestCode/revealed: inactive account"},
	{name: "ErrNoCode", err: ErrNoCode, row: "TestResetWithCode/no code"},
	{name: "ErrExpired", err: ErrExpired, row: "TestResetWithCode/expiry: the clock at the code's expiry"},
	{name: "ErrInvalidCode", err: ErrInvalidCode, row: "TestResetWithCode/wrong code"},
	{name: "ErrDeviceMismatch", err: ErrDeviceMismatch, row: "TestResetWithCode/device: right code from another device"},
	{name: "ErrAmbiguousAccount", err: ErrAmbiguousAccount, row: "TestRequestCode/revealed: ambiguous email", answeredAs: ErrUnknownAccount},
	{name: "ErrInvalidToken", err: ErrInvalidToken, row: "TestResetWithLink/unknown token"},
	{name: "ErrRateLimited", err: ErrRateLimited, row: "TestRequestCode/send limit: least interval"},
	{name: "ErrTooManyAttempts", err: ErrTooManyAttempts, row: "TestResetWithCode/attempts: the code's guesses spent, even a right one"},
}

// rowOutcomes returns the expected outcome of every table row, by
// "Test/row".
func rowOutcomes() map[string]error {
	m := map[string]error{}
	for _, c := range requestCodeCases {
		m["TestRequestCode/"+c.name] = c.want
	}
	for _, c := range requestLinkCases {
		m["TestRequestLink/"+c.name] = c.want
	}
	for _, c := range resetWithCodeCases {
		m["TestResetWithCode/"+c.name] = c.want
	}
	for _, c := range resetWithLinkCases {
		m["TestResetWithLink/"+c.name] = c.want
	}
	for _, c := range linkStates {
		m["TestResetWithLink/"+c.name] = c.want()
		m["TestCheckLink/"+c.name] = c.want()
	}
	return m
}

// TestSentinelsHaveRows: every exported error of errors.go has a row that
// produces it, or, for ErrAmbiguousAccount, a row that shows how the
// flows answer it instead. A new sentinel fails here until it has one.
func TestSentinelsHaveRows(t *testing.T) {
	declared := declaredErrors(t)
	outcomes := rowOutcomes()
	listed := map[string]bool{}
	for _, s := range sentinels {
		t.Run(s.name, func(t *testing.T) {
			listed[s.name] = true
			if msg, ok := declared[s.name]; !ok || msg != s.err.Error() {
				t.Fatalf("%s: got message %q, want errors.go's %q (declared: %t)", s.name, s.err.Error(), msg, ok)
			}
			if s.produce != nil {
				if got := s.produce(); !errors.Is(got, s.err) {
					t.Errorf("%s: got %v, want it", s.name, got)
				}
				return
			}
			want, ok := outcomes[s.row]
			switch {
			case !ok:
				t.Errorf("%s: no row %q", s.name, s.row)
			case s.answeredAs != nil && (!errors.Is(want, s.answeredAs) || errors.Is(want, s.err)):
				t.Errorf("%s: row %q wants %v, want %v in its place", s.name, s.row, want, s.answeredAs)
			case s.answeredAs == nil && !errors.Is(want, s.err):
				t.Errorf("%s: row %q wants %v, want %v", s.name, s.row, want, s.err)
			}
		})
	}
	for name := range declared {
		if !listed[name] {
			t.Errorf("%s: declared in errors.go, want a row in sentinels", name)
		}
	}
}

// declaredErrors parses errors.go and returns each exported Err variable
// with the message it is made with.
func declaredErrors(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.VAR {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if !n.IsExported() || !strings.HasPrefix(n.Name, "Err") || i >= len(vs.Values) {
					continue
				}
				call, ok := vs.Values[i].(*ast.CallExpr)
				if !ok || len(call.Args) != 1 {
					t.Fatalf("errors.go: %s is not errors.New(\"...\")", n.Name)
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok {
					t.Fatalf("errors.go: %s is not errors.New(\"...\")", n.Name)
				}
				msg, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out[n.Name] = msg
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("errors.go: found no exported Err variables")
	}
	return out
}

// mustEmail parses a test's address; the tests' addresses are all valid.
func mustEmail(s string) Email {
	e, err := ParseEmail(s)
	if err != nil {
		panic(fmt.Sprintf("test address %q: %v", s, err))
	}
	return e
}
