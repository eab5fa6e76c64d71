// Package apptest runs the whole service for tests: the real store on
// DynamoDB Local, the real mailer on the SES emulator, the real flows and
// the real HTTP edge, with a fake clock and a count of every AWS call.
// Each Env has tables of its own, so tests can run in parallel. The
// accounts are in DynamoDB, or, with PASSRESET_TEST_USERS_BACKEND=webhook,
// in PostgreSQL behind the signed hook, or, with =cognito, in a user pool
// on cognito-local (users.go, hook.go, cognito.go).
//
// Test binaries that use it start the emulators once in TestMain, with
// emulator.Run, or with Run, which also starts PostgreSQL for the webhook
// back-end:
//
//	func TestMain(m *testing.M) { os.Exit(apptest.Run(m)) }
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/keysecret"
	"github.com/passreset/passreset/pkg/password"
)

// Settings override environment variables of the service's configuration.
type Settings map[string]string

// ResetURL is the RESET_URL every Env mails links to.
const ResetURL = "https://app.passreset.test/reset?token={token}"

// TestSecretKey is the key an Env's SecretStore starts with: a test key,
// not a secret.
const TestSecretKey = "a test key of at least thirty-two characters, k1"

// testKey is the HMAC key of every Env: a test key, not a secret.
const testKey = "7465737420686d6163206b6579207468617420697320333220627974657321212121"

// Env is one running service.
type Env struct {
	Stack   *emulator.Stack
	Config  config.Config
	Service function.Service
	Handler *gateway.Handler // every route of the contract
	Clock   *Clock
	Calls   *Calls
	DB      *dynamodb.Client
	// Secret is the HMAC key secret the service reads when the test set
	// HMAC_KEY_SECRET_ARN; nil otherwise. It starts as {"kid": "k1", "key":
	// TestSecretKey}.
	Secret *SecretStore
	// Log holds every line the service logged, for tests that look for
	// secrets in it.
	Log *LogBuffer
	// Metrics holds every metrics line the handler wrote
	// (gateway.Options.Metrics), for tests that read the metrics back.
	Metrics *MetricLines
	// Variables are the service's environment, as its functions would
	// have it, for a CLI run against the Env.
	Variables Settings

	users users // where the accounts are (users.go)
}

// New starts a service with its own tables, its accounts on the back-end
// EnvUsersBackend chooses. It skips or fails the test as emulator.Need
// says when there are no emulators.
func New(t testing.TB, overrides Settings) *Env {
	t.Helper()
	stack := emulator.Need(t)
	suffix := randomHex(4)
	env := map[string]string{
		"TOKENS_TABLE": "tokens-" + suffix,
		"USERS_TABLE":  "users-" + suffix,
		"MAIL_FROM":    "no-reply@passreset.test",
		"RESET_URL":    ResetURL,
		"HMAC_KEY":     testKey,
		"APP_NAME":     "Passreset Test",
	}
	for k, v := range overrides {
		env[k] = v
	}
	if env["HMAC_KEY_SECRET_ARN"] != "" {
		delete(env, "HMAC_KEY")
	}
	e := &Env{Stack: stack, Clock: NewClock(), Calls: newCalls(), Log: &LogBuffer{}, Metrics: &MetricLines{}}
	var hookUsersDB *pgxpool.Pool
	var pool *cognitoUsers
	var cognitoEndpoint string
	switch Backend(t) {
	case BackendCognito:
		// A user pool of the Env's own; global sign-out ends the
		// sessions: the service refuses a sessions table too.
		for k := range env {
			if strings.HasPrefix(k, "SESSIONS_") || strings.HasPrefix(k, "USERS_") {
				delete(env, k)
			}
		}
		var settings Settings
		pool, settings, cognitoEndpoint = e.startCognito(t)
		for k, v := range settings {
			env[k] = v
		}
	case BackendWebhook:
		// The hook's end-sessions call ends the sessions, in the
		// receiver's table: the service refuses a sessions table too.
		for k := range env {
			if strings.HasPrefix(k, "SESSIONS_") || strings.HasPrefix(k, "USERS_") {
				delete(env, k)
			}
		}
		var hook Settings
		hookUsersDB, hook = e.startHook(t)
		for k, v := range hook {
			env[k] = v
		}
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	e.Config, e.Variables = cfg, env

	at := function.Endpoints{DynamoDB: stack.DynamoDBEndpoint, SES: stack.SESEndpoint, Cognito: cognitoEndpoint}
	if cfg.HMACKeySecretARN != "" {
		e.Secret = newSecretStore(t, cfg.HMACKeySecretARN, `{"kid": "k1", "key": "`+TestSecretKey+`"}`)
		at.Secrets = e.Secret.srv.URL
	}
	awsCfg := function.LocalConfig()
	awsCfg.APIOptions = e.Calls.apiOptions()
	awsCfg.HTTPClient = e.Calls // for ThrottleWith (throttle.go)
	clients := function.ClientsAt(awsCfg, at)
	if cfg.HMACKeySecretARN != "" {
		clients.Secrets = keysecret.New(awsCfg, at.Secrets)
	}
	e.DB = clients.DynamoDB

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// With the webhook back-end cfg.Users is the zero table: the tokens
	// table alone.
	if err := dynamo.CreateTables(ctx, clients.DynamoDB, cfg.TokensTable, cfg.Users); err != nil {
		t.Fatalf("apptest: %v", err)
	}
	if cfg.Sessions.Name != "" { // WithSessions
		if err := dynamo.CreateSessionsTable(ctx, clients.DynamoDB, cfg.Sessions); err != nil {
			t.Fatalf("apptest: %v", err)
		}
	}
	log := slog.New(slog.NewTextHandler(e.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.Service, err = function.NewServiceWith(cfg, clients, log, e.Clock.Now)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	edge := gateway.Options{Metrics: e.Metrics}
	if edge.Captcha, err = function.Captcha(cfg, true); err != nil { // CAPTCHA_* settings
		t.Fatalf("apptest: %v", err)
	}
	e.Handler, err = gateway.NewWithOptions(e.Service.Flows, log, gateway.RouteKeys(), edge)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	switch {
	case pool != nil:
		e.users = pool
	case hookUsersDB != nil:
		e.users = &hookUsers{db: hookUsersDB}
	default:
		du := &dynamoUsers{store: e.Service.Store, db: clients.DynamoDB, table: cfg.Users}
		if cfg.Sessions.Name != "" {
			du.sessions = &dynamoSessions{db: clients.DynamoDB, tbl: cfg.Sessions}
		}
		e.users = du
	}
	e.Calls.Reset()
	return e
}

var sharedHasher struct {
	once sync.Once
	h    *password.Hasher
	err  error
}

func hasher(t testing.TB) *password.Hasher {
	sharedHasher.once.Do(func() { sharedHasher.h, sharedHasher.err = password.NewHasher(password.Argon2id) })
	if sharedHasher.err != nil {
		t.Fatal(sharedHasher.err)
	}
	return sharedHasher.h
}

// Request is an HTTP request to the service.
type Request struct {
	Method  string
	Path    string // raw, URL-encoded where needed
	Body    string
	Headers map[string]string // Content-Type defaults to application/json
	IP      string            // API Gateway's source IP; defaults to 198.51.100.7
}

// Response is the handler's answer, with the body decoded when it is JSON.
type Response struct {
	Status  int
	Headers map[string]string
	Body    string
	JSON    map[string]any
}

// DefaultIP is the source IP of a Request that names none.
const DefaultIP = "198.51.100.7"

// Do sends r through the handler the Lambda functions run, as API Gateway
// would route it; a path no route matches fails the test.
func (e *Env) Do(t testing.TB, r Request) Response {
	t.Helper()
	ev := e.Event(t, r)
	resp, err := e.Handler.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s %s: handler returned an error: %v", r.Method, r.Path, err)
	}
	out := Response{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}
	if err := json.Unmarshal([]byte(resp.Body), &out.JSON); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %q", r.Method, r.Path, resp.Body)
	}
	return out
}

// Event builds the API Gateway v2 event for r.
func (e *Env) Event(t testing.TB, r Request) lambdaevents.APIGatewayV2HTTPRequest {
	t.Helper()
	method := r.Method
	if method == "" {
		method = "POST"
	}
	key, params, ok := apigwtest.Match(gateway.RouteKeys(), method, r.Path)
	if !ok {
		t.Fatalf("no route for %s %s", method, r.Path)
	}
	req := httptest.NewRequest(method, "http://api.passreset.test"+r.Path, strings.NewReader(r.Body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "apptest/1.0")
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	ip := r.IP
	if ip == "" {
		ip = DefaultIP
	}
	return apigwtest.EventFor(req, key, params, []byte(r.Body), ip)
}

// Post sends a JSON body to path from the default IP.
func (e *Env) Post(t testing.TB, path, body string) Response {
	t.Helper()
	return e.Do(t, Request{Method: "POST", Path: path, Body: body})
}

// JSON encodes v, for request bodies.
func JSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// MailsTo returns the mails the SES emulator received for addr, oldest
// first.
func (e *Env) MailsTo(t testing.TB, addr string) []emulator.Mail {
	t.Helper()
	all, err := e.Stack.Mails(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mine []emulator.Mail
	for _, m := range all {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				mine = append(mine, m)
			}
		}
	}
	return mine
}

// LastCode reads the code out of the newest code mail to addr.
func (e *Env) LastCode(t testing.TB, addr string) string {
	t.Helper()
	re := regexp.MustCompile(fmt.Sprintf(`(?m)^\s*(\d{%d})\s*$`, e.Config.Reset.OTPLength))
	mails := e.MailsTo(t, addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(mails[i].Text); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no code mail to %s among %d mails", addr, len(mails))
	return ""
}

// LastToken reads the token out of the link in the newest link mail to addr.
func (e *Env) LastToken(t testing.TB, addr string) string {
	t.Helper()
	prefix := strings.TrimSuffix(ResetURL, "{token}")
	re := regexp.MustCompile(regexp.QuoteMeta(prefix) + `([0-9a-f]{64})`)
	mails := e.MailsTo(t, addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if m := re.FindStringSubmatch(mails[i].Text); m != nil {
			return m[1]
		}
	}
	t.Fatalf("no link mail to %s among %d mails", addr, len(mails))
	return ""
}

// Clock is a fake clock: tests move it instead of sleeping.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at the real time, so TTL values look real.
func NewClock() *Clock { return &Clock{now: time.Now().Truncate(time.Second)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// LogBuffer is a concurrency-safe log sink.
type LogBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything logged so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var _ io.Writer = (*LogBuffer)(nil)

// MetricLines keeps what the handler writes as its metrics, one Write a
// line, as metrics.Flush writes them.
type MetricLines struct {
	mu    sync.Mutex
	lines []string
	taken int
}

func (m *MetricLines) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lines = append(m.lines, string(p))
	return len(p), nil
}

// Take returns the lines written since the last Take.
func (m *MetricLines) Take() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	lines := append([]string(nil), m.lines[m.taken:]...)
	m.taken = len(m.lines)
	return lines
}

// String returns every line written so far.
func (m *MetricLines) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.lines, "")
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
