package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/apptest"
)

// The support commands run in-process against an apptest.Env: the real
// service on DynamoDB Local and the SES emulator (and, with
// PASSRESET_TEST_USERS_BACKEND=webhook, its accounts behind the hook), the
// CLI reading the same variables the Env's functions have, on its clock.

// runSupport runs passreset with args against e and returns its exit code
// and outputs.
func runSupport(t *testing.T, e *apptest.Env, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	env := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": e.Stack.DynamoDBEndpoint,
		"AWS_ENDPOINT_URL_SESV2":    e.Stack.SESEndpoint,
		"USER":                      "support-test",
	}
	for k, v := range e.Variables {
		env[k] = v
	}
	var out, errOut bytes.Buffer
	c := cli{getenv: func(k string) string { return env[k] }, stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, now: e.Clock.Now}
	code = c.run(context.Background(), args)
	return code, out.String(), errOut.String()
}

// resetWithLink sets pw through the link API and returns the status.
func resetWithLink(t *testing.T, e *apptest.Env, token, pw string) int {
	t.Helper()
	return e.Post(t, "/auth/reset-password", apptest.JSON(map[string]string{"token": token, "new_password": pw})).Status
}

// resetWithCode sets pw through the code-by-action API and returns the
// status.
func resetWithCode(t *testing.T, e *apptest.Env, email, code, pw string) int {
	t.Helper()
	return e.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "validate", "email": email, "otp": code, "new_password": pw})).Status
}

func requestCode(t *testing.T, e *apptest.Env, email string) {
	t.Helper()
	if r := e.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "create", "email": email})); r.Status != 200 {
		t.Fatalf("request code: %d %s", r.Status, r.Body)
	}
}

// storedSecrets are the long strings of the tokens table: every code
// hash, token hash, subject and owner key, and every recipient hash.
func storedSecrets(t *testing.T, e *apptest.Env) []string {
	t.Helper()
	out, err := e.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.Config.TokensTable)})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, it := range out.Items {
		for _, v := range it {
			if s, ok := v.(*types.AttributeValueMemberS); ok && len(s.Value) >= 32 {
				found = append(found, s.Value)
				if i := strings.IndexByte(s.Value, '#'); i >= 0 {
					found = append(found, s.Value[i+1:]) // a key's hash
				}
			}
		}
	}
	if len(found) == 0 {
		t.Fatal("no hash in the tokens table: the test would prove nothing")
	}
	return found
}

// noSecret fails when out holds any of secrets.
func noSecret(t *testing.T, what, out string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if s != "" && strings.Contains(strings.ToLower(out), strings.ToLower(s)) {
			t.Errorf("%s holds a secret (%.12s…):\n%s", what, s, out)
		}
	}
}

// auditLines decodes the JSON audit lines in s.
func auditLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if !strings.HasPrefix(sc.Text(), "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, sc.Text())
		}
		lines = append(lines, m)
	}
	return lines
}

func wantAudit(t *testing.T, line map[string]any, action, account, outcome string) {
	t.Helper()
	for k, want := range map[string]string{"action": action, "account": account, "outcome": outcome, "operator": "support-test"} {
		if got, _ := line[k].(string); got != want {
			t.Errorf("audit %s = %q, want %q (line %v)", k, got, want, line)
		}
	}
	if _, ok := line["time"].(string); !ok {
		t.Errorf("audit line has no time: %v", line)
	}
}

func TestSupportSendLink(t *testing.T) {
	e := apptest.New(t, nil)
	a := e.AddAccount(t)
	code, out, errOut := runSupport(t, e, "support", "send-link", a.Email)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "mailed a reset link to the stored address of account "+a.ID) {
		t.Errorf("stdout does not say what was done:\n%s", out)
	}
	token := e.LastToken(t, a.Email)
	lines := auditLines(t, errOut)
	if len(lines) != 1 {
		t.Fatalf("got %d audit lines, want 1:\n%s", len(lines), errOut)
	}
	wantAudit(t, lines[0], "send-link", a.ID, "mailed")
	noSecret(t, "output", out+errOut, append(storedSecrets(t, e), token, a.Email)...)

	const pw = "a new support-sent passphrase 1"
	if got := resetWithLink(t, e, token, pw); got != 200 {
		t.Fatalf("reset with the mailed link: %d, want 200", got)
	}
	if !e.PasswordIs(t, a.ID, pw) {
		t.Error("the password did not change")
	}
}

func TestSupportSendLinkPrint(t *testing.T) {
	e := apptest.New(t, nil)
	a := e.AddAccount(t)
	// By user name, into an audit file.
	logFile := filepath.Join(t.TempDir(), "audit.log")
	code, out, errOut := runSupport(t, e, "support", "send-link", "--print", "--audit-log", logFile, a.Username)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	link, err := url.Parse(strings.TrimSpace(out))
	if err != nil || !strings.HasPrefix(out, strings.TrimSuffix(apptest.ResetURL, "{token}")) {
		t.Fatalf("stdout is not the link: %q", out)
	}
	token := link.Query().Get("token")
	for _, want := range []string{"WARNING", "Anyone who holds", "account " + a.ID, "killed every earlier code and link", "Nothing was mailed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("warning lacks %q:\n%s", want, errOut)
		}
	}
	if n := len(e.MailsTo(t, a.Email)); n != 0 {
		t.Errorf("%d mails went out, want none", n)
	}
	raw, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := auditLines(t, string(raw))
	if len(lines) != 1 {
		t.Fatalf("got %d audit lines in the file, want 1:\n%s", len(lines), raw)
	}
	wantAudit(t, lines[0], "send-link", a.ID, "printed")
	noSecret(t, "audit log", string(raw), append(storedSecrets(t, e), token, a.Email, a.Username)...)

	const pw = "a new printed-link passphrase 2"
	if got := resetWithLink(t, e, token, pw); got != 200 {
		t.Fatalf("reset with the printed link: %d, want 200", got)
	}
	if !e.PasswordIs(t, a.ID, pw) {
		t.Error("the password did not change")
	}
}

func TestSupportCompromised(t *testing.T) {
	e := apptest.New(t, apptest.WithSessions(nil))
	a := e.AddAccount(t)
	e.AddSessions(t, a.ID, 2)
	// A link by email, then a code by user name: the code is the live
	// one, the link superseded but unexpired.
	if r := e.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
		t.Fatalf("request link: %d %s", r.Status, r.Body)
	}
	oldToken := e.LastToken(t, a.Email)
	if r := e.Post(t, "/auth/forgot-password", apptest.JSON(map[string]string{"userName": a.Username})); r.Status != 201 {
		t.Fatalf("request code: %d %s", r.Status, r.Body)
	}
	oldCode := e.LastCode(t, a.Email)
	before := len(e.MailsTo(t, a.Email))
	// The email may be sent another mail (MIN_SEND_INTERVAL).
	e.Clock.Advance(e.Config.Reset.MinSendInterval)

	code, out, errOut := runSupport(t, e, "support", "compromised", a.ID)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{"password treated as compromised", "session_version:  bumped", "sessions:         ended in " + e.Config.Sessions.Name, "killed (1 unexpired code(s), 1 unexpired link(s), 0 unexpired grant(s) removed)", "reset link:       mailed"} {
		if e.Config.UsersBackend == "webhook" && (strings.HasPrefix(want, "session_version") || strings.HasPrefix(want, "sessions:")) {
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := e.SessionsOf(t, a.ID); n != 0 {
		t.Errorf("%d sessions left, want 0", n)
	}
	if got := len(e.MailsTo(t, a.Email)); got != before+1 {
		t.Fatalf("%d new mails, want 1", got-before)
	}
	newToken := e.LastToken(t, a.Email)
	lines := auditLines(t, errOut)
	if len(lines) != 1 {
		t.Fatalf("got %d audit lines, want 1:\n%s", len(lines), errOut)
	}
	wantAudit(t, lines[0], "compromised", a.ID, "marked compromised")
	noSecret(t, "output", out+errOut, append(storedSecrets(t, e), oldToken, newToken, oldCode, a.Email)...)

	// Both old secrets are dead, whoever holds them.
	if got := resetWithLink(t, e, oldToken, "an attacker's passphrase 99"); got != 400 {
		t.Errorf("old link after compromised: %d, want 400", got)
	}
	// The same User-Agent as the request: the code is bound to it.
	r := e.Do(t, apptest.Request{Method: "PUT", Path: "/auth/forgot-password",
		Body: apptest.JSON(map[string]string{"userName": a.Username, "otp": oldCode, "newPassword": "an attacker's passphrase 98"})})
	if r.Status == 200 || r.Status == 201 {
		t.Errorf("old code after compromised: %d, want refused", r.Status)
	}
	if !e.PasswordIs(t, a.ID, a.Password) {
		t.Fatal("an old secret changed the password")
	}

	// Again, while the new link is live: sessions ended again, nothing
	// else, and the link still works.
	e.AddSessions(t, a.ID, 1)
	code, out, errOut = runSupport(t, e, "support", "compromised", a.Email)
	if code != exitOK {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "already marked compromised") {
		t.Errorf("second run does not say it was done before:\n%s", out)
	}
	if n := e.SessionsOf(t, a.ID); n != 0 {
		t.Errorf("second run: %d sessions left, want 0", n)
	}
	if got := len(e.MailsTo(t, a.Email)); got != before+1 {
		t.Errorf("second run mailed %d more", got-before-1)
	}
	wantAudit(t, auditLines(t, errOut)[0], "compromised", a.ID, "already marked compromised")

	const pw = "a passphrase after compromise 3"
	if got := resetWithLink(t, e, newToken, pw); got != 200 {
		t.Fatalf("reset with the link compromised mailed: %d, want 200", got)
	}
	if !e.PasswordIs(t, a.ID, pw) {
		t.Error("the password did not change")
	}
}

func TestSupportState(t *testing.T) {
	e := apptest.New(t, nil)
	a := e.AddAccount(t)
	requestCode(t, e, a.Email)
	code := e.LastCode(t, a.Email)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for range 2 {
		if got := resetWithCode(t, e, a.Email, wrong, "whatever passphrase 12"); got != 400 {
			t.Fatalf("wrong guess: %d, want 400", got)
		}
	}

	rc, out, errOut := runSupport(t, e, "support", "state", "--json", a.Email)
	if rc != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", rc, out, errOut)
	}
	var doc stateDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Account != a.ID || !doc.Active || doc.Live != "code" {
		t.Errorf("account %q active %v live %q, want %s true code", doc.Account, doc.Active, doc.Live, a.ID)
	}
	if len(doc.Names) != 2 || doc.Names[0].By != "email" || doc.Names[1].By != "username" {
		t.Fatalf("names: %+v, want email and username", doc.Names)
	}
	byEmail := doc.Names[0]
	if c := byEmail.Code; c == nil || !c.Live || c.Attempts != 2 || c.MaxAttempts != e.Config.Reset.MaxAttempts {
		t.Errorf("email's code: %+v, want live, 2 of %d attempts", c, e.Config.Reset.MaxAttempts)
	}
	if byEmail.Failures.Used != 2 || byEmail.Failures.FreesAt == nil {
		t.Errorf("email's failures: %+v, want 2 used and a time they free", byEmail.Failures)
	}
	if doc.Failures.Used != 2 {
		t.Errorf("account failures: %+v, want 2 used", doc.Failures)
	}
	if byEmail.Sends.Used != 1 || doc.Sends.Used != 1 {
		t.Errorf("sends: email %+v, account %+v; want 1 each", byEmail.Sends, doc.Sends)
	}
	interval := e.Config.Reset.MinSendInterval
	if byEmail.NextSendAt == nil || !byEmail.NextSendAt.Equal(e.Clock.Now().Add(interval)) {
		t.Errorf("email's next send %v, want now + %s", byEmail.NextSendAt, interval)
	}
	if doc.Names[1].Code != nil || doc.Names[1].Sends.Used != 0 {
		t.Errorf("user name's state: %+v, want nothing", doc.Names[1])
	}
	if !strings.Contains(doc.LastMail.Suppression, "unknown") && !strings.Contains(doc.LastMail.Suppression, "not on the list") {
		t.Errorf("suppression %q", doc.LastMail.Suppression)
	}

	// The human form says the same, and neither holds a secret.
	rc, human, errOut2 := runSupport(t, e, "support", "state", a.Username)
	if rc != exitOK {
		t.Fatalf("exit %d\n%s%s", rc, human, errOut2)
	}
	for _, want := range []string{"account " + a.ID + " (active)", "live:             a code", "code:           live; 2 of 5 attempts used", "failed guesses: 2 of 20 in 24h", "sends:          1 of 3 in the last hour", "last mail result: not kept"} {
		if !strings.Contains(human, want) {
			t.Errorf("state lacks %q:\n%s", want, human)
		}
	}
	secrets := append(storedSecrets(t, e), code, a.Email, apptest.DefaultIP)
	noSecret(t, "state --json", out+errOut, secrets...)
	noSecret(t, "state", human+errOut2, secrets...)
	wantAudit(t, auditLines(t, errOut)[0], "state", a.ID, "read")

	// After a link: the link is live, the code dead.
	e.Clock.Advance(interval)
	if r := e.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
		t.Fatalf("request link: %d", r.Status)
	}
	_, out, _ = runSupport(t, e, "support", "state", "--json", a.ID)
	doc = stateDoc{}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Live != "link" || doc.Link == nil || !doc.Link.Live || doc.Names[0].Code.Live || doc.Sends.Used != 2 {
		t.Errorf("after a link: live %q link %+v code %+v sends %+v; want the link live, the code dead, 2 sends", doc.Live, doc.Link, doc.Names[0].Code, doc.Sends)
	}
}

func TestSupportUnknownAccount(t *testing.T) {
	e := apptest.New(t, nil)
	for _, sub := range []string{"send-link", "compromised", "state"} {
		for _, name := range []string{"nobody@example.test", "u-nobody"} {
			code, out, errOut := runSupport(t, e, "support", sub, name)
			if code != exitError {
				t.Errorf("%s %s: exit %d, want %d", sub, name, code, exitError)
			}
			if !strings.Contains(errOut, "no account has the email, user name or id") {
				t.Errorf("%s %s: stderr does not say so:\n%s", sub, name, errOut)
			}
			if out != "" {
				t.Errorf("%s %s: stdout %q, want nothing", sub, name, out)
			}
			lines := auditLines(t, errOut)
			if len(lines) != 1 {
				t.Fatalf("%s: %d audit lines, want 1", sub, len(lines))
			}
			wantAudit(t, lines[0], sub, "", "unknown account")
			noSecret(t, "audit line", mustJSON(t, lines[0]), name)
		}
	}
	if code, _, errOut := runSupport(t, e, "support", "state"); code != exitError || !strings.Contains(errOut, "want one account") {
		t.Errorf("no account: exit %d, stderr %q", code, errOut)
	}
}

func TestSupportSendLimit(t *testing.T) {
	e := apptest.New(t, nil)
	a := e.AddAccount(t)
	if code, out, errOut := runSupport(t, e, "support", "send-link", a.ID); code != exitOK {
		t.Fatalf("first: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut := runSupport(t, e, "support", "send-link", a.ID)
	if code != exitError || !strings.Contains(errOut, "refused by the send limits") || !strings.Contains(errOut, "may go at") {
		t.Errorf("second within MIN_SEND_INTERVAL: exit %d, stderr:\n%s", code, errOut)
	}
	wantAudit(t, auditLines(t, errOut)[0], "send-link", a.ID, "refused: send limit")
	if n := len(e.MailsTo(t, a.Email)); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A second compromised after the password changed elsewhere: the first
// run's link died with the change (session_version), so the second kills
// and mails again rather than trusting it, and state calls it dead.
func TestSupportCompromisedAfterChangeElsewhere(t *testing.T) {
	e := apptest.New(t, nil)
	a := e.AddAccount(t)
	if code, out, errOut := runSupport(t, e, "support", "compromised", a.ID); code != exitOK {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
	}
	first := e.LastToken(t, a.Email)
	before := len(e.MailsTo(t, a.Email))
	// Whoever knows the password changes it: the support link dies.
	e.ChangePasswordElsewhere(t, a.ID, "an attacker's passphrase 77")
	e.Clock.Advance(e.Config.Reset.MinSendInterval)

	_, out, _ := runSupport(t, e, "support", "state", "--json", a.ID)
	var doc stateDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Live != "" || doc.Link == nil || doc.Link.Live {
		t.Errorf("state after the change: live %q link %+v, want the link dead", doc.Live, doc.Link)
	}

	code, out, errOut := runSupport(t, e, "support", "compromised", a.ID)
	if code != exitOK {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "already marked compromised") {
		t.Errorf("second run trusted the dead link:\n%s", out)
	}
	wantAudit(t, auditLines(t, errOut)[0], "compromised", a.ID, "marked compromised")
	if got := len(e.MailsTo(t, a.Email)); got != before+1 {
		t.Fatalf("second run: %d new mails, want 1", got-before)
	}
	second := e.LastToken(t, a.Email)
	if second == first {
		t.Fatal("the second run mailed the first link again")
	}
	if got := resetWithLink(t, e, first, "a passphrase for the dead link 5"); got != 400 {
		t.Errorf("the first link: %d, want 400", got)
	}
	const pw = "the owner's passphrase again 6"
	if got := resetWithLink(t, e, second, pw); got != 200 {
		t.Fatalf("reset with the second link: %d, want 200", got)
	}
	if !e.PasswordIs(t, a.ID, pw) {
		t.Error("the password did not change")
	}
}

// An outstanding two-step grant: state names it a grant, not a link;
// compromised kills it and counts it as one, and completing with it is
// then refused.
func TestSupportCompromisedKillsGrant(t *testing.T) {
	e := apptest.New(t, nil)
	a := e.AddAccount(t)
	requestCode(t, e, a.Email)
	r := e.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "verify", "email": a.Email, "otp": e.LastCode(t, a.Email)}))
	grant, _ := r.JSON["grant"].(string)
	if r.Status != 200 || grant == "" {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}

	_, out, _ := runSupport(t, e, "support", "state", "--json", a.ID)
	var doc stateDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Live != "grant" || doc.Link == nil || !doc.Link.Live {
		t.Errorf("state with a grant: live %q link %+v, want a live grant", doc.Live, doc.Link)
	}
	_, human, _ := runSupport(t, e, "support", "state", a.ID)
	if !strings.Contains(human, "a two-step grant (never mailed)") {
		t.Errorf("state does not call the grant one:\n%s", human)
	}

	e.Clock.Advance(e.Config.Reset.MinSendInterval)
	code, out, errOut := runSupport(t, e, "support", "compromised", a.ID)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "0 unexpired link(s), 1 unexpired grant(s)") {
		t.Errorf("the kill does not count the grant as one:\n%s", out)
	}
	line := auditLines(t, errOut)[0]
	if line["grants_killed"] != 1.0 || line["links_killed"] != 0.0 {
		t.Errorf("audit: grants_killed %v links_killed %v, want 1 and 0", line["grants_killed"], line["links_killed"])
	}
	r = e.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "complete", "grant": grant, "new_password": "an attacker's passphrase 55"}))
	if r.Status != 400 {
		t.Errorf("complete with the grant after compromised: %d %s, want 400", r.Status, r.Body)
	}
	if !e.PasswordIs(t, a.ID, a.Password) {
		t.Error("the killed grant changed the password")
	}
}

// A reset's receipt does not outlive compromised: a repeat of a reset
// with a code or a link, within the retry window, is refused after it
// rather than told the old success.
func TestSupportCompromisedDeletesReceipts(t *testing.T) {
	e := apptest.New(t, nil)
	byCode, byLink := e.AddAccount(t), e.AddAccount(t)
	requestCode(t, e, byCode.Email)
	code := e.LastCode(t, byCode.Email)
	const pw = "a passphrase set before 41"
	if got := resetWithCode(t, e, byCode.Email, code, pw); got != 200 {
		t.Fatalf("reset with the code: %d", got)
	}
	if r := e.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": byLink.Email})); r.Status != 200 {
		t.Fatalf("request link: %d %s", r.Status, r.Body)
	}
	token := e.LastToken(t, byLink.Email)
	if got := resetWithLink(t, e, token, pw); got != 200 {
		t.Fatalf("reset with the link: %d", got)
	}
	// The repeats are answered with their success, before.
	if got := resetWithCode(t, e, byCode.Email, code, pw); got != 200 {
		t.Fatalf("repeat of the code reset: %d, want 200", got)
	}
	if got := resetWithLink(t, e, token, pw); got != 200 {
		t.Fatalf("repeat of the link reset: %d, want 200", got)
	}
	for _, a := range []apptest.Account{byCode, byLink} {
		// The mail may be refused by MIN_SEND_INTERVAL: the kill stands.
		runSupport(t, e, "support", "compromised", a.ID)
	}
	if got := resetWithCode(t, e, byCode.Email, code, pw); got != 400 {
		t.Errorf("repeat of the code reset after compromised: %d, want 400", got)
	}
	if got := resetWithLink(t, e, token, pw); got != 400 {
		t.Errorf("repeat of the link reset after compromised: %d, want 400", got)
	}
}
