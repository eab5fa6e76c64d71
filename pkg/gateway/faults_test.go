package gateway_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/apptest"
)

// Faults: every AWS call of every flow fails in turn, and throttling reaches
// the SDK's retryer. The answer is the route's fixed 500 (but for a mail
// that fails: a request is then answered as sent, since an unknown account
// sends none and a 500 would say the account exists; a notice after a reset
// is logged) and the tables are never left half done: a changed password
// never leaves its code or link alive, a consumed code or link always comes
// with the new password, and a code or link no mail carried never holds the
// user's next request back.

// Bodies of the routes the fault tests drive.
const (
	faultCreate500   = `{"success":false,"message":"Something went wrong. Could not send OTP. Please try again."}`
	faultValidate500 = `{"success":false,"message":"Something went wrong. Could not validate OTP. Please try again."}`
	faultLink500     = `{"error":"Request failed"}`
	faultBadOTP      = `{"success":false,"message":"Invalid or expired OTP."}`
	faultBadToken    = `{"error":"Invalid or expired token"}`
	faultSent        = `{"success":true,"message":"Successfully sent OTP."}`
	faultValidated   = `{"success":true,"message":"Successfully validated OTP and reset password."}`
	faultLinkSent    = `{"message":"Reset link sent"}`
	faultLinkReset   = `{"message":"Password has been reset"}`
)

// faultError is what an injected fault fails a call with: a service error
// the SDK would retry if it saw it, raised before its retryer so it does not.
var faultError = &smithy.GenericAPIError{Code: "InternalServerError", Message: "injected fault"}

// faultLogged is what the log holds of a fault FailWith injected: the AWS
// error's message, or, for a hook call, the status the receiver's stand-in
// answered (the client never repeats what a hook answered).
func faultLogged(t *testing.T) string {
	switch apptest.Backend(t) {
	case apptest.BackendWebhook:
		return "status 500"
	case apptest.BackendCognito:
		// pkg/cognito logs an AWS error's code and request id, never its
		// message, which may quote the request (an email, a password).
		return faultError.Code
	}
	return faultError.Message
}

// faultFlow is one flow of the matrix.
type faultFlow struct {
	name string
	// prepare gets what the flow needs from a fresh account: a code or a
	// token, or nothing for a request.
	prepare func(t *testing.T, env *apptest.Env, a apptest.Account) string
	run     func(t *testing.T, env *apptest.Env, a apptest.Account, secret string) apptest.Response
	// healthy is the flow's answer when nothing fails.
	healthy string
	failed  string
	// after checks the tables after the run answered resp and says what
	// the user could do next, for the matrix.
	after func(t *testing.T, env *apptest.Env, a apptest.Account, secret string, resp apptest.Response) string
}

const (
	faultPasswordA = "first new password of the fault test"
	faultPasswordB = "second new password of the fault test"
)

func faultPost(t *testing.T, env *apptest.Env, path string, kv ...string) apptest.Response {
	t.Helper()
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return env.Post(t, path, apptest.JSON(m))
}

func faultWant(t *testing.T, what string, r apptest.Response, status int, body string) {
	t.Helper()
	if r.Status != status || r.Body != body {
		t.Errorf("%s: got %d %s, want %d %s", what, r.Status, r.Body, status, body)
	}
}

func faultWrongCode(code string) string {
	last := code[len(code)-1]
	return code[:len(code)-1] + string('0'+(last-'0'+1)%10)
}

// faultItems reads the whole tokens table, consistently.
func faultItems(t *testing.T, env *apptest.Env) []map[string]types.AttributeValue {
	t.Helper()
	var items []map[string]types.AttributeValue
	in := &dynamodb.ScanInput{TableName: aws.String(env.Config.TokensTable), ConsistentRead: aws.Bool(true)}
	for {
		out, err := env.DB.Scan(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, out.Items...)
		if len(out.LastEvaluatedKey) == 0 {
			return items
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

func faultStr(it map[string]types.AttributeValue, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// faultCodeLive reports whether the account has a stored code.
func faultCodeLive(t *testing.T, env *apptest.Env, accountID string) bool {
	t.Helper()
	for _, it := range faultItems(t, env) {
		if faultStr(it, "account_id") == accountID && faultStr(it, "code_id") != "" {
			return true
		}
	}
	return false
}

// faultLinksLive counts the account's links that would still work: a link
// item of the account that its state item names as the latest.
func faultLinksLive(t *testing.T, env *apptest.Env, accountID string) int {
	t.Helper()
	items := faultItems(t, env)
	latest := map[string]string{} // subject → link_hash
	for _, it := range items {
		if pk := faultStr(it, "pk"); strings.HasPrefix(pk, "acct#") {
			latest[strings.TrimPrefix(pk, "acct#")] = faultStr(it, "link_hash")
		}
	}
	n := 0
	for _, it := range items {
		pk := faultStr(it, "pk")
		if strings.HasPrefix(pk, "link#") && faultStr(it, "account_id") == accountID &&
			latest[faultStr(it, "subject")] == strings.TrimPrefix(pk, "link#") {
			n++
		}
	}
	return n
}

// faultRequestAgain is the rule for a request that failed: no mail went
// out, nothing the user could use is stored, and the user may ask again at
// once, although MIN_SEND_INTERVAL is a minute, and the new code or link
// works.
func faultRequestAgain(t *testing.T, env *apptest.Env, a apptest.Account, link bool) string {
	t.Helper()
	if n := len(env.MailsTo(t, a.Email)); n != 0 {
		t.Errorf("after the failed request: got %d mails to the account, want 0", n)
	}
	if link {
		if n := faultLinksLive(t, env, a.ID); n != 0 {
			t.Errorf("after the failed request: got %d live links no mail carried, want 0", n)
		}
		r := faultPost(t, env, "/auth/request-reset-password", "email", a.Email)
		faultWant(t, "request again at once", r, 200, faultLinkSent)
		if r.Status != 200 {
			return fmt.Sprintf("request again: %d", r.Status)
		}
		token := env.LastToken(t, a.Email)
		faultWant(t, "reset with the new link", faultPost(t, env, "/auth/reset-password", "token", token, "new_password", faultPasswordA), 200, faultLinkReset)
	} else {
		if faultCodeLive(t, env, a.ID) {
			t.Error("after the failed request: a code no mail carried is stored")
		}
		r := faultPost(t, env, "/auth/otp", "action", "create", "email", a.Email)
		faultWant(t, "request again at once", r, 200, faultSent)
		if r.Status != 200 {
			return fmt.Sprintf("request again: %d", r.Status)
		}
		code := env.LastCode(t, a.Email)
		faultWant(t, "reset with the new code", faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", faultPasswordA), 200, faultValidated)
	}
	if !env.PasswordIs(t, a.ID, faultPasswordA) {
		t.Error("the reset after the failed request did not set the password")
	}
	return "request again at once: 200, and it works"
}

// faultResetAfter is the rule for a reset: the password changed exactly
// when the code or link was consumed, and the same secret then works again
// exactly when it did not.
func faultResetAfter(t *testing.T, env *apptest.Env, a apptest.Account, live bool, retry func() apptest.Response, okBody, deadBody string) string {
	t.Helper()
	changed := env.PasswordIs(t, a.ID, faultPasswordA)
	old := env.PasswordIs(t, a.ID, a.Password)
	if changed && live && apptest.Backend(t) != apptest.BackendDynamoDB {
		// Two phases (pkg/reset/complete.go): a finish that failed after
		// the hook or Cognito set the password leaves the code or link
		// claimed. It must never work again: not now, while claimed, and
		// not once the claim has run out, when it is refused on the
		// version the set moved.
		faultWant(t, "the claimed secret after the reset", retry(), 400, deadBody)
		env.Clock.Advance(31 * time.Second)
		live = false
	}
	switch {
	case changed && live:
		t.Error("the password changed and the code or link is still live")
	case !changed && !live:
		t.Error("the code or link is consumed and the password is the old one")
	case changed == old:
		t.Errorf("password: new verifies %v, old verifies %v", changed, old)
	}
	r := retry()
	if changed {
		faultWant(t, "the same secret after the reset", r, 400, deadBody)
		return "password changed; the secret is dead (retry " + fmt.Sprint(r.Status) + ")"
	}
	faultWant(t, "the same secret after the failure", r, 200, okBody)
	if !env.PasswordIs(t, a.ID, faultPasswordB) {
		t.Error("the retry with the same secret did not set the password")
	}
	return "password unchanged; the same secret works on retry"
}

var faultFlows = []faultFlow{
	{
		name: "request code",
		run: func(t *testing.T, env *apptest.Env, a apptest.Account, _ string) apptest.Response {
			return faultPost(t, env, "/auth/otp", "action", "create", "email", a.Email)
		},
		healthy: faultSent, failed: faultCreate500,
		after: func(t *testing.T, env *apptest.Env, a apptest.Account, _ string, _ apptest.Response) string {
			return faultRequestAgain(t, env, a, false)
		},
	},
	{
		name:    "reset with code",
		prepare: faultNewCode,
		run: func(t *testing.T, env *apptest.Env, a apptest.Account, code string) apptest.Response {
			return faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", faultPasswordA)
		},
		healthy: faultValidated, failed: faultValidate500,
		after: func(t *testing.T, env *apptest.Env, a apptest.Account, code string, _ apptest.Response) string {
			return faultResetAfter(t, env, a, faultCodeLive(t, env, a.ID), func() apptest.Response {
				return faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", faultPasswordB)
			}, faultValidated, faultBadOTP)
		},
	},
	{
		name:    "wrong guess",
		prepare: faultNewCode,
		run: func(t *testing.T, env *apptest.Env, a apptest.Account, code string) apptest.Response {
			return faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", faultWrongCode(code), "new_password", faultPasswordA)
		},
		healthy: faultBadOTP, failed: faultValidate500,
		after: func(t *testing.T, env *apptest.Env, a apptest.Account, code string, _ apptest.Response) string {
			if !env.PasswordIs(t, a.ID, a.Password) || !faultCodeLive(t, env, a.ID) {
				t.Error("after a failed wrong guess: want the old password and the code live")
			}
			faultWant(t, "the right code after the failed wrong guess",
				faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", faultPasswordB), 200, faultValidated)
			return "code still live; the right code then works"
		},
	},
	{
		name: "request link",
		run: func(t *testing.T, env *apptest.Env, a apptest.Account, _ string) apptest.Response {
			return faultPost(t, env, "/auth/request-reset-password", "email", a.Email)
		},
		healthy: faultLinkSent, failed: faultLink500,
		after: func(t *testing.T, env *apptest.Env, a apptest.Account, _ string, _ apptest.Response) string {
			return faultRequestAgain(t, env, a, true)
		},
	},
	{
		name: "reset with link",
		prepare: func(t *testing.T, env *apptest.Env, a apptest.Account) string {
			faultWant(t, "request a link", faultPost(t, env, "/auth/request-reset-password", "email", a.Email), 200, faultLinkSent)
			return env.LastToken(t, a.Email)
		},
		run: func(t *testing.T, env *apptest.Env, a apptest.Account, token string) apptest.Response {
			return faultPost(t, env, "/auth/reset-password", "token", token, "new_password", faultPasswordA)
		},
		healthy: faultLinkReset, failed: faultLink500,
		after: func(t *testing.T, env *apptest.Env, a apptest.Account, token string, _ apptest.Response) string {
			return faultResetAfter(t, env, a, faultLinksLive(t, env, a.ID) > 0, func() apptest.Response {
				return faultPost(t, env, "/auth/reset-password", "token", token, "new_password", faultPasswordB)
			}, faultLinkReset, faultBadToken)
		},
	},
}

func faultNewCode(t *testing.T, env *apptest.Env, a apptest.Account) string {
	t.Helper()
	faultWant(t, "request a code", faultPost(t, env, "/auth/otp", "action", "create", "email", a.Email), 200, faultSent)
	return env.LastCode(t, a.Email)
}

// nth returns the failure that fails the i-th call of order, counted per
// operation as FailWith counts.
func faultNth(order []string, i int) func(op string, n int) error {
	op, nth := order[i], 0
	for _, o := range order[:i+1] {
		if o == op {
			nth++
		}
	}
	return func(o string, n int) error {
		if o == op && n == nth {
			return faultError
		}
		return nil
	}
}

// TestFaultMatrix fails each AWS call of each flow in turn, on a fresh
// account with the default limits (MIN_SEND_INTERVAL one minute), and
// prints the matrix.
func TestFaultMatrix(t *testing.T) {
	t.Parallel()
	for _, f := range faultFlows {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			// The per-IP limit is raised so that the matrix's many
			// requests from one address do not reach it; every other
			// setting is the default.
			env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
			start := func() (apptest.Account, string) {
				a := env.AddAccount(t)
				secret := ""
				if f.prepare != nil {
					secret = f.prepare(t, env, a)
				}
				env.Calls.Reset()
				return a, secret
			}

			a, secret := start()
			r := f.run(t, env, a, secret)
			order := env.Calls.Order()
			if r.Body != f.healthy {
				t.Fatalf("without faults: got %d %s, want %s", r.Status, r.Body, f.healthy)
			}
			var rows []string
			for i := range order {
				a, secret := start()
				env.Calls.FailWith(faultNth(order, i))
				r := f.run(t, env, a, secret)
				env.Calls.FailWith(nil)
				what := fmt.Sprintf("%s: call %d %s failing", f.name, i+1, order[i])
				mail := order[i] == "SESv2.SendEmail"
				notice := mail && (f.healthy == faultValidated || f.healthy == faultLinkReset)
				// Behind the hook or on Cognito, a call that fails after
				// the password was set (the finish, the end-sessions)
				// fails a reset that is done: logged, answered as done.
				set := slices.Index(order, apptest.HookSetPassword)
				if apptest.Backend(t) == apptest.BackendCognito {
					set = slices.Index(order, "Cognito Identity Provider.AdminSetUserPassword")
				}
				afterSet := set >= 0 && i > set && !mail
				switch {
				case afterSet:
					faultWant(t, what, r, 200, f.healthy)
				case mail && !notice:
					// A request whose mail failed is answered as sent,
					// its record withdrawn (after checks it), and logged.
					faultWant(t, what, r, 200, f.healthy)
					if !strings.Contains(env.Log.String(), "mail failed; answered as sent") {
						t.Errorf("%s: the failed mail was not logged", what)
					}
				case notice:
					// The notice mail goes after the password changed:
					// its failure is logged and the reset still answers
					// success, because the reset did not fail.
					faultWant(t, what, r, 200, f.healthy)
					if !strings.Contains(env.Log.String(), "send password-changed mail") {
						t.Errorf("%s: the failed notice was not logged", what)
					}
				default:
					faultWant(t, what, r, 500, f.failed)
				}
				if r.Headers["Cache-Control"] != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", what, r.Headers["Cache-Control"])
				}
				next := f.after(t, env, a, secret, r)
				rows = append(rows, fmt.Sprintf("| %-16s | %d %-29s | %d | %s |", f.name, i+1, order[i], r.Status, next))
			}
			if !strings.Contains(env.Log.String(), faultError.Message) {
				t.Error("no injected fault reached the log")
			}
			t.Logf("fault matrix (flow | failing call | status | afterwards):\n%s", strings.Join(rows, "\n"))
		})
	}
}

// TestFaultMailAndWithdrawBothFail is the double fault the matrix leaves
// out: the mail fails and so do the writes that take its code back. It
// pins what happens then, for the record, and does not judge it: the
// answer is the sent one, as for any failed mail, the code stays stored
// (and unknown: no mail carried it), and the user waits MIN_SEND_INTERVAL
// before asking again.
func TestFaultMailAndWithdrawBothFail(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	env.Calls.FailWith(func(op string, n int) error {
		if op == "SESv2.SendEmail" || op == "DynamoDB.UpdateItem" && n >= 2 {
			return faultError
		}
		return nil
	})
	r := faultPost(t, env, "/auth/otp", "action", "create", "email", a.Email)
	env.Calls.FailWith(nil)
	faultWant(t, "mail and withdraw failing", r, 200, faultSent)
	again := faultPost(t, env, "/auth/otp", "action", "create", "email", a.Email)
	t.Logf("double fault: %d; code stored: %v; the next request: %d %s (Retry-After %s)",
		r.Status, faultCodeLive(t, env, a.ID), again.Status, again.Body, again.Headers["Retry-After"])
	if !strings.Contains(env.Log.String(), "withdraw unsent record") {
		t.Error("the failed withdraw was not logged")
	}
}

// Throttling: the SDK's retryer sees ThrottlingException and
// ProvisionedThroughputExceededException and tries again, with its real
// backoff; when the throttle outlasts it, or the function's deadline comes
// first, the answer is the clean 500, in time (for a mail: the sent
// answer, its record withdrawn, as for any failed mail).

// faultThrottleFirst throttles the first n attempts of every call of the
// operations ops (all when ops is empty) with code, then lets one through.
func faultThrottleFirst(n int, code apptest.Throttle, ops ...string) func(op string, attempt int) apptest.Throttle {
	streak := map[string]int{}
	return func(op string, _ int) apptest.Throttle {
		if len(ops) > 0 && !slices.Contains(ops, op) {
			return ""
		}
		if streak[op] < n {
			streak[op]++
			return code
		}
		streak[op] = 0
		return ""
	}
}

func TestThrottleRetriedThenSucceeds(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)

	// Every call of a code request throttled once (DynamoDB and SES, each
	// in its own protocol), then let through: the SDK retries and the flow
	// succeeds.
	env.Calls.ThrottleWith(faultThrottleFirst(1, apptest.ThrottlingException))
	r := faultPost(t, env, "/auth/otp", "action", "create", "email", a.Email)
	attempts := env.Calls.Attempts()
	env.Calls.ThrottleWith(nil)
	faultWant(t, "request a code, each call throttled once", r, 200, faultSent)
	t.Logf("request a code, every call throttled once: %s", strings.Join(attempts, " → "))
	// Behind the hook the lookup is the hook's, which ThrottleWith does
	// not reach: 3 AWS calls. Cognito's ListUsers is an AWS call like
	// DynamoDB's Query: 4.
	calls := map[string]int{apptest.BackendDynamoDB: 4, apptest.BackendWebhook: 3, apptest.BackendCognito: 4}[apptest.Backend(t)]
	if got, want := len(attempts), 2*calls; got != want {
		t.Errorf("attempts: got %d, want %d (each of the %d AWS calls twice)", got, want, calls)
	}
	code := env.LastCode(t, a.Email)

	// The reset's transaction over its capacity twice, the third attempt
	// (the SDK's last by default) let through.
	env.Calls.ThrottleWith(faultThrottleFirst(2, apptest.ProvisionedThroughputExceeded, "DynamoDB.TransactWriteItems"))
	r = faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", faultPasswordA)
	attempts = env.Calls.Attempts()
	env.Calls.ThrottleWith(nil)
	faultWant(t, "reset, its transaction throttled twice", r, 200, faultValidated)
	t.Logf("reset with a code, the transaction throttled twice: %s", strings.Join(attempts, " → "))
	if !env.PasswordIs(t, a.ID, faultPasswordA) {
		t.Error("the throttled reset did not set the password")
	}
	if faultCodeLive(t, env, a.ID) {
		t.Error("the code is still live after the reset")
	}
}

// faultDeadline is the function's remaining time in the throttling tests,
// and faultSlack what the answer may take beyond it: the tests check that
// the deadline is honoured, not how fast anything is.
const (
	faultDeadline = 3 * time.Second
	faultSlack    = 2 * time.Second
)

// faultHandle calls the handler as Lambda does, with a deadline.
func faultHandle(t *testing.T, env *apptest.Env, path, body string) (apptest.Response, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), faultDeadline)
	defer cancel()
	start := time.Now()
	resp, err := env.Handler.Handle(ctx, env.Event(t, apptest.Request{Method: "POST", Path: path, Body: body}))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	if took > faultDeadline+faultSlack {
		t.Errorf("%s: answered after %v, want within the %v deadline and %v slack", path, took.Round(time.Millisecond), faultDeadline, faultSlack)
	}
	return apptest.Response{Status: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}, took
}

func TestThrottleOutlastsRetries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		code apptest.Throttle
		op   string // the one operation throttled
		flow string
	}{
		{"IP counter over capacity on a code request", apptest.ProvisionedThroughputExceeded, "DynamoDB.UpdateItem", "request code"},
		{"account lookup throttled on a link request", apptest.ThrottlingException, "DynamoDB.Query", "request link"},
		{"code mail throttled", apptest.TooManyRequests, "SESv2.SendEmail", "request code"},
		{"link mail throttled", apptest.TooManyRequests, "SESv2.SendEmail", "request link"},
		{"reset transaction over capacity", apptest.ProvisionedThroughputExceeded, "DynamoDB.TransactWriteItems", "reset with code"},
		{"link read throttled", apptest.ThrottlingException, "DynamoDB.GetItem", "reset with link"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.op == "DynamoDB.Query" && apptest.Backend(t) == apptest.BackendWebhook {
				t.Skip("dynamodb back-end only: the lookup is the hook's, which AWS never throttles; TestFaultMatrix fails Hook.lookup in every flow")
			}
			if c.op == "DynamoDB.Query" && apptest.Backend(t) == apptest.BackendCognito {
				// The lookup is Cognito's ListUsers, throttled as Cognito
				// throttles (TooManyRequestsException).
				c.op, c.code = "Cognito Identity Provider.ListUsers", apptest.TooManyRequests
			}
			env := apptest.New(t, nil)
			a := env.AddAccount(t)
			var path, body, want500 string
			secret := ""
			switch c.flow {
			case "request code":
				path, body, want500 = "/auth/otp", apptest.JSON(map[string]string{"action": "create", "email": a.Email}), faultCreate500
			case "request link":
				path, body, want500 = "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email}), faultLink500
			case "reset with code":
				secret = faultNewCode(t, env, a)
				path, body, want500 = "/auth/otp", apptest.JSON(map[string]string{"action": "validate", "email": a.Email, "otp": secret, "new_password": faultPasswordA}), faultValidate500
			case "reset with link":
				faultWant(t, "request a link", faultPost(t, env, "/auth/request-reset-password", "email", a.Email), 200, faultLinkSent)
				secret = env.LastToken(t, a.Email)
				path, body, want500 = "/auth/reset-password", apptest.JSON(map[string]string{"token": secret, "new_password": faultPasswordA}), faultLink500
			}
			env.Calls.ThrottleWith(func(op string, _ int) apptest.Throttle {
				if op == c.op {
					return c.code
				}
				return ""
			})
			r, took := faultHandle(t, env, path, body)
			attempts := env.Calls.Attempts()
			env.Calls.ThrottleWith(nil)
			want, wantBody := 500, want500
			if c.op == "SESv2.SendEmail" {
				want, wantBody = 200, map[string]string{"request code": faultSent, "request link": faultLinkSent}[c.flow]
			}
			faultWant(t, c.name, r, want, wantBody)
			throttled := 0
			for _, at := range attempts {
				if strings.HasSuffix(at, ": "+string(c.code)) {
					throttled++
				}
			}
			t.Logf("%s: %d after %v, %d throttled attempts: %s", c.name, r.Status, took.Round(time.Millisecond), throttled, strings.Join(attempts, " → "))
			if throttled < 1 || throttled > 3 {
				t.Errorf("throttled attempts: got %d, want 1..3 (the SDK's default max attempts is 3)", throttled)
			}
			// Afterwards, nothing half done, as in the fault matrix.
			switch c.flow {
			case "request code":
				faultRequestAgain(t, env, a, false)
			case "request link":
				faultRequestAgain(t, env, a, true)
			case "reset with code":
				faultResetAfter(t, env, a, faultCodeLive(t, env, a.ID), func() apptest.Response {
					return faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", secret, "new_password", faultPasswordB)
				}, faultValidated, faultBadOTP)
			case "reset with link":
				faultResetAfter(t, env, a, faultLinksLive(t, env, a.ID) > 0, func() apptest.Response {
					return faultPost(t, env, "/auth/reset-password", "token", secret, "new_password", faultPasswordB)
				}, faultLinkReset, faultBadToken)
			}
		})
	}
}

// TestUnsentCodeWithdrawnPastDeadline: SES is slow and the function's
// deadline passes while the mail is on its way. The answer is the sent one
// (with REVEAL_UNKNOWN_ACCOUNTS=true, the 500), in time, and the code or
// link no mail carried does not hold the user's next
// request back: the mail gets the deadline less a reserve, and the
// withdrawal runs in that reserve on a context of its own
// (pkg/reset/withdraw.go).
func TestUnsentCodeWithdrawnPastDeadline(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		link, reveal bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		link := tc.link
		name := map[bool]string{false: "code", true: "link"}[link] + map[bool]string{false: "", true: ", revealed"}[tc.reveal]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t, apptest.Settings{"REVEAL_UNKNOWN_ACCOUNTS": fmt.Sprint(tc.reveal)})
			a := env.AddAccount(t)
			path, body, want, wantBody := "/auth/otp", apptest.JSON(map[string]string{"action": "create", "email": a.Email}), 200, faultSent
			if link {
				path, body, wantBody = "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email}), faultLinkSent
			}
			if tc.reveal {
				want, wantBody = 500, map[bool]string{false: faultCreate500, true: faultLink500}[link]
			}
			deadline := time.Now().Add(faultDeadline)
			env.Calls.ThrottleWith(func(op string, _ int) apptest.Throttle {
				if op == "SESv2.SendEmail" {
					time.Sleep(time.Until(deadline) + 50*time.Millisecond) // SES answers too late
				}
				return ""
			})
			r, took := faultHandle(t, env, path, body)
			env.Calls.ThrottleWith(nil)
			faultWant(t, "the deadline passing during the mail", r, want, wantBody)
			t.Logf("%s mail past the deadline: %d after %v", name, r.Status, took.Round(time.Millisecond))
			for _, line := range strings.Split(env.Log.String(), "\n") {
				if strings.Contains(line, "withdraw unsent") {
					t.Logf("logged: %s", line)
				}
			}
			faultRequestAgain(t, env, a, link)
		})
	}
}

// TestSlowHook: behind the hook, a call answered after the function's
// deadline (apptest's SlowWith: the receiver acted, its answer came too
// late) gives the route's clean 500 in time and leaves nothing half done:
// a slow lookup changes nothing and the same code works afterwards; a slow
// set-password changed the password, and the code can never change it
// again.
func TestSlowHook(t *testing.T) {
	t.Parallel()
	if apptest.Backend(t) != apptest.BackendWebhook {
		t.Skip("webhook back-end only: SlowWith holds back the hook's answers; DynamoDB's slow calls are TestThrottleOutlastsRetries'")
	}
	for _, op := range []string{apptest.HookLookup, apptest.HookSetPassword} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			env := apptest.New(t, nil)
			a := env.AddAccount(t)
			code := faultNewCode(t, env, a)
			env.Calls.SlowWith(func(got string, _ int) time.Duration {
				if got == op {
					return faultDeadline + time.Second
				}
				return 0
			})
			r, took := faultHandle(t, env, "/auth/otp", apptest.JSON(map[string]string{"action": "validate", "email": a.Email, "otp": code, "new_password": faultPasswordA}))
			env.Calls.SlowWith(nil)
			faultWant(t, op+" answering after the deadline", r, 500, faultValidate500)
			t.Logf("%s past the deadline: %d after %v", op, r.Status, took.Round(time.Millisecond))
			live := faultCodeLive(t, env, a.ID)
			if op == apptest.HookLookup && env.PasswordIs(t, a.ID, faultPasswordA) {
				t.Error("a slow lookup changed the password")
			}
			if op == apptest.HookSetPassword && !env.PasswordIs(t, a.ID, faultPasswordA) {
				t.Error("the receiver applied the change, and the password is not the new one")
			}
			faultResetAfter(t, env, a, live, func() apptest.Response {
				return faultPost(t, env, "/auth/otp", "action", "validate", "email", a.Email, "otp", code, "new_password", faultPasswordB)
			}, faultValidated, faultBadOTP)
		})
	}
}
