package gateway_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/reset"
)

// Secrets: every flow, on every route, its successes and its failures (500s
// included), with the service's log and metrics captured; no code (as
// mailed), token, password (old, new, refused), stored password hash, code
// hash or link hash may appear in any log line, metrics line, response or
// error, and no email or IP address in any metrics line.

// secretWatch remembers the secrets a test has seen and where it looked.
type secretWatch struct {
	env     *apptest.Env
	secrets map[string]string // value → what it is
	seen    []string          // responses and errors, each labelled
}

func (w *secretWatch) learn(what, value string) {
	if value != "" {
		w.secrets[value] = what
	}
}

// harvest reads the tokens table for the hashes stored in it: code hashes
// and link hashes, as the state items and the link items' keys hold them.
func (w *secretWatch) harvest(t *testing.T) {
	t.Helper()
	for _, it := range faultItems(t, w.env) {
		w.learn("a stored code hash", faultStr(it, "code_hash"))
		w.learn("a stored link hash", faultStr(it, "link_hash"))
		if pk := faultStr(it, "pk"); strings.HasPrefix(pk, "link#") {
			w.learn("a stored link hash (item key)", strings.TrimPrefix(pk, "link#"))
		}
	}
}

// passwordHash learns the account's stored hash, whole and by its parts
// (the salt and the hash of the PHC string).
func (w *secretWatch) passwordHash(t *testing.T, a apptest.Account) {
	t.Helper()
	h := w.env.Stored(t, a.ID).PasswordHash
	w.learn("a stored password hash", h)
	parts := strings.Split(h, "$")
	if len(parts) >= 2 {
		w.learn("the salt of a stored password hash", parts[len(parts)-2])
		w.learn("the hash of a stored password hash", parts[len(parts)-1])
	}
}

// do sends r, records the response, and reads the table for new hashes.
func (w *secretWatch) do(t *testing.T, r apptest.Request) apptest.Response {
	t.Helper()
	resp := w.env.Do(t, r)
	// Labelled by number, not by path: a path may hold the token.
	w.seen = append(w.seen, fmt.Sprintf("response %d: %d %v %s", len(w.seen)+1, resp.Status, resp.Headers, resp.Body))
	w.harvest(t)
	return resp
}

func (w *secretWatch) post(t *testing.T, path string, kv ...string) apptest.Response {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
		if kv[i] == "otp" || kv[i] == "token" || kv[i] == "new_password" || kv[i] == "newPassword" {
			w.learn("a submitted "+kv[i], kv[i+1])
		}
	}
	return w.do(t, apptest.Request{Method: "POST", Path: path, Body: apptest.JSON(m)})
}

func (w *secretWatch) code(t *testing.T, a apptest.Account) string {
	t.Helper()
	c := w.env.LastCode(t, a.Email)
	w.learn("a mailed code", c)
	return c
}

func (w *secretWatch) token(t *testing.T, a apptest.Account) string {
	t.Helper()
	tok := w.env.LastToken(t, a.Email)
	w.learn("a mailed token", tok)
	return tok
}

func (w *secretWatch) account(t *testing.T) apptest.Account {
	t.Helper()
	a := w.env.AddAccount(t)
	w.learn("an old password", a.Password)
	w.passwordHash(t, a)
	return a
}

func (w *secretWatch) err(what string, err error) {
	if err != nil {
		w.seen = append(w.seen, fmt.Sprintf("error of %s: %v | %+v | %#v", what, err, err, err))
	}
}

// check looks for every secret everywhere. A code is looked for as a
// number of its own (not inside a longer run of digits, as in a time).
func (w *secretWatch) check(t *testing.T) {
	t.Helper()
	places := append([]string{"the log:\n" + w.env.Log.String(), "the metrics:\n" + w.env.Metrics.String()}, w.seen...)
	for secret, what := range w.secrets {
		re := regexp.MustCompile(regexp.QuoteMeta(secret))
		if regexp.MustCompile(`^[0-9]+$`).MatchString(secret) {
			re = regexp.MustCompile(`(^|[^0-9])` + secret + `($|[^0-9])`)
		}
		for _, p := range places {
			if loc := re.FindStringIndex(p); loc != nil {
				from, to := max(0, loc[0]-120), min(len(p), loc[1]+120)
				t.Errorf("%s (%q) appears in %s …%s…", what, secret, strings.SplitN(p, ":", 2)[0], p[from:to])
			}
		}
	}
}

func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	w := &secretWatch{env: env, secrets: map[string]string{}}
	const (
		pwA   = "secret-test: first new password"
		pwB   = "secret-test: second new password"
		short = "Zq9#xV" // refused: too short
	)
	okN := func(t *testing.T, r apptest.Response, status int) {
		t.Helper()
		if r.Status != status {
			t.Fatalf("got %d %s, want %d", r.Status, r.Body, status)
		}
	}

	// Family N, /auth/otp: a code, a wrong guess, refused passwords (too
	// short, the current one), the reset, the used code again.
	a := w.account(t)
	okN(t, w.post(t, "/auth/otp", "action", "create", "email", a.Email), 200)
	code := w.code(t, a)
	okN(t, w.post(t, "/auth/otp", "action", "validate", "email", a.Email, "otp", faultWrongCode(code), "new_password", pwA), 400)
	okN(t, w.post(t, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", short), 400)
	if apptest.Backend(t) != apptest.BackendCognito {
		// Cognito shows no hash to compare with: the current password is
		// the pool's password history's to refuse (pkg/cognito).
		okN(t, w.post(t, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", a.Password), 400)
	}
	okN(t, w.post(t, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", pwA), 200)
	okN(t, w.post(t, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", pwB), 400)
	w.passwordHash(t, a)

	// Family N, /{email}/reset-password.
	a = w.account(t)
	okN(t, w.post(t, "/auth/otp", "action", "create", "email", a.Email), 200)
	code = w.code(t, a)
	okN(t, w.post(t, "/"+strings.ReplaceAll(a.Email, "@", "%40")+"/reset-password", "otp", faultWrongCode(code), "new_password", pwA), 400)
	okN(t, w.post(t, "/"+strings.ReplaceAll(a.Email, "@", "%40")+"/reset-password", "otp", code, "new_password", pwA), 200)
	w.passwordHash(t, a)

	// Family L, token in the body: a wrong token, the reset, the used link.
	a = w.account(t)
	okN(t, w.post(t, "/auth/request-reset-password", "email", a.Email), 200)
	token := w.token(t, a)
	okN(t, w.post(t, "/auth/reset-password", "token", strings.Repeat("0f", 32), "new_password", pwA), 400)
	okN(t, w.post(t, "/auth/reset-password", "token", token, "new_password", short), 400)
	okN(t, w.post(t, "/auth/reset-password", "token", token, "new_password", pwA), 200)
	okN(t, w.post(t, "/auth/reset-password", "token", token, "new_password", pwB), 400)
	w.passwordHash(t, a)

	// Family L, token in the path.
	a = w.account(t)
	okN(t, w.post(t, "/auth/request-reset-password", "email", a.Email), 200)
	token = w.token(t, a)
	if apptest.Backend(t) != apptest.BackendCognito { // as in family N above
		okN(t, w.post(t, "/auth/reset-password/"+token, "new_password", a.Password), 400)
	}
	okN(t, w.post(t, "/auth/reset-password/"+token, "new_password", pwA), 200)
	w.passwordHash(t, a)

	// Family 0.
	a = w.account(t)
	okN(t, w.post(t, "/generate-otp", "email", a.Email), 200)
	code = w.code(t, a)
	okN(t, w.post(t, "/reset-password", "email", a.Email, "otp", faultWrongCode(code), "newPassword", pwA), 401)
	okN(t, w.post(t, "/reset-password", "email", a.Email, "otp", code, "newPassword", pwA), 200)
	w.passwordHash(t, a)

	// Family E: by user name, a guess from another device, the reset.
	a = w.account(t)
	okN(t, w.post(t, "/auth/forgot-password", "userName", a.Username), 201)
	code = w.code(t, a)
	put := func(ua, pw string) apptest.Response {
		w.learn("a submitted newPassword", pw)
		return w.do(t, apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Headers: map[string]string{"User-Agent": ua},
			Body: apptest.JSON(map[string]string{"userName": a.Username, "otp": code, "newPassword": pw})})
	}
	okN(t, put("other-device/2.0", pwA), 401)
	okN(t, put("apptest/1.0", pwA), 201)
	w.passwordHash(t, a)

	// Unknown accounts on every send route: the decoy records.
	for _, r := range [][]string{
		{"/auth/otp", "action", "create", "email", "nobody-secret@example.test"},
		{"/generate-otp", "email", "nobody-secret-0@example.test"},
		{"/auth/request-reset-password", "email", "nobody-secret-l@example.test"},
		{"/auth/forgot-password", "userEmail", "nobody-secret-e@example.test"},
	} {
		if got := w.post(t, r[0], r[1:]...); got.Status >= 300 {
			t.Errorf("unknown account on %s: got %d", r[0], got.Status)
		}
	}

	// 500s: each flow's decisive call failing, through the handler and
	// through the flows themselves, for their errors.
	fail := func(op string) {
		env.Calls.FailWith(func(o string, _ int) error {
			if o == op {
				return faultError
			}
			return nil
		})
	}
	a = w.account(t)
	fail("SESv2.SendEmail")
	// A failed mail is answered as sent (an unknown account sends none),
	// and logged: the log is what this test reads.
	okN(t, w.post(t, "/auth/otp", "action", "create", "email", a.Email), 200)
	okN(t, w.post(t, "/auth/request-reset-password", "email", a.Email), 200)
	env.Calls.FailWith(nil)
	okN(t, w.post(t, "/auth/otp", "action", "create", "email", a.Email), 200)
	code = w.code(t, a)
	fail("DynamoDB.TransactWriteItems")
	okN(t, w.post(t, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", pwA), 500)
	email, err := reset.ParseEmail(a.Email)
	if err != nil {
		t.Fatal(err)
	}
	w.err("ResetWithCode", env.Service.Flows.ResetWithCode(context.Background(), reset.CodeReset{
		Account: reset.Lookup{Email: email}, Code: reset.Code(code), NewPassword: pwB, IP: "192.0.2.1"}))
	env.Calls.FailWith(nil)
	env.Clock.Advance(env.Config.Reset.MinSendInterval)
	okN(t, w.post(t, "/auth/request-reset-password", "email", a.Email), 200)
	token = w.token(t, a)
	fail("DynamoDB.TransactWriteItems")
	okN(t, w.post(t, "/auth/reset-password", "token", token, "new_password", pwA), 500)
	w.err("ResetWithLink", env.Service.Flows.ResetWithLink(context.Background(), reset.LinkReset{
		Token: reset.Token(token), NewPassword: pwB, IP: "192.0.2.1"}))
	env.Clock.Advance(env.Config.Reset.MinSendInterval)
	fail("SESv2.SendEmail")
	w.err("RequestCode", env.Service.Flows.RequestCode(context.Background(), reset.CodeRequest{
		Account: reset.Lookup{Email: email}, IP: "192.0.2.1"}))
	w.err("RequestLink", env.Service.Flows.RequestLink(context.Background(), reset.LinkRequest{Email: email, IP: "192.0.2.1"}))
	env.Calls.FailWith(nil)
	w.passwordHash(t, a)
	w.harvest(t)

	t.Logf("looked for %d secrets in the log (%d bytes), the metrics (%d bytes), %d responses and errors",
		len(w.secrets), len(env.Log.String()), len(env.Metrics.String()), len(w.seen))
	w.check(t)
	checkMetricsHoldNoAddress(t, env.Metrics.String())
}

// checkMetricsHoldNoAddress fails if metrics lines hold an email address
// or an IPv4 address, or hold nothing at all: the scan must have had
// something to read.
func checkMetricsHoldNoAddress(t *testing.T, lines string) {
	t.Helper()
	if !strings.Contains(lines, `"_aws"`) {
		t.Fatalf("no metrics lines to scan: got %q", lines)
	}
	for what, re := range map[string]*regexp.Regexp{
		"an email address": regexp.MustCompile(`@`),
		"an IP address":    regexp.MustCompile(`[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+`),
	} {
		if loc := re.FindStringIndex(lines); loc != nil {
			t.Errorf("%s appears in the metrics: …%s…", what, lines[max(0, loc[0]-120):min(len(lines), loc[1]+120)])
		}
	}
}
