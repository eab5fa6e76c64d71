package gateway_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/apptest"
)

const (
	msgInvalidOTP   = "Invalid or expired OTP."
	msgInvalidToken = "Invalid or expired token"
	msgTooMany      = "Too many attempts. Please request a new OTP."
)

// fire builds the events first, on the test goroutine, then sends them all
// at once: every goroutine waits on one closed channel.
func fire(t *testing.T, env *apptest.Env, reqs []apptest.Request) []lambdaevents.APIGatewayV2HTTPResponse {
	t.Helper()
	evs := make([]lambdaevents.APIGatewayV2HTTPRequest, len(reqs))
	for i, r := range reqs {
		evs[i] = env.Event(t, r)
	}
	out := make([]lambdaevents.APIGatewayV2HTTPResponse, len(reqs))
	errs := make([]error, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = env.Handler.Handle(context.Background(), evs[i])
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("handler returned an error: %v", err)
	}
	return out
}

func createCode(email string) string {
	return apptest.JSON(map[string]string{"action": "create", "email": email})
}

func validate(email, code, pw string) string {
	return apptest.JSON(map[string]string{"action": "validate", "email": email, "otp": code, "new_password": pw})
}

func linkReset(token, pw string) string {
	return apptest.JSON(map[string]string{"token": token, "new_password": pw})
}

// wrong returns a code of the same length that differs in every digit.
func wrong(code string) string {
	b := []byte(code)
	for i, c := range b {
		b[i] = '0' + (c-'0'+1)%10
	}
	return string(b)
}

// want checks status and message of a response (message: the family's
// "message" or "error" field).
func want(t *testing.T, what string, r apptest.Response, status int, message string) {
	t.Helper()
	msg, _ := r.JSON["message"].(string)
	if e, ok := r.JSON["error"].(string); ok {
		msg = e
	}
	if r.Status != status || (message != "" && msg != message) {
		t.Fatalf("%s: got %d %s, want %d %q", what, r.Status, r.Body, status, message)
	}
}

// retryAfter returns the Retry-After of a 429, failing unless it is whole
// seconds in (0, max].
func retryAfter(t *testing.T, what string, headers map[string]string, max int) int {
	t.Helper()
	v, ok := headers["Retry-After"]
	if !ok {
		t.Fatalf("%s: no Retry-After header in %v", what, headers)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > max {
		t.Fatalf("%s: got Retry-After %q, want whole seconds in (0, %d]", what, v, max)
	}
	return n
}

// codeItem returns the account's state item in the tokens table while a
// code of the account is stored (found by its account_id attribute).
func codeItem(t *testing.T, env *apptest.Env, accountID string) map[string]types.AttributeValue {
	t.Helper()
	out, err := env.DB.Scan(context.Background(), &dynamodb.ScanInput{
		TableName:                 aws.String(env.Config.TokensTable),
		FilterExpression:          aws.String("account_id = :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": &types.AttributeValueMemberS{Value: accountID}},
		ConsistentRead:            aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) != 1 {
		t.Fatalf("code items of account %s: got %d, want 1", accountID, len(out.Items))
	}
	return out.Items[0]
}

func numAttr(it map[string]types.AttributeValue, name string) int64 {
	if v, ok := it[name].(*types.AttributeValueMemberN); ok {
		n, _ := strconv.ParseInt(v.Value, 10, 64)
		return n
	}
	return -1
}

func decode(t *testing.T, r lambdaevents.APIGatewayV2HTTPResponse) (string, string) {
	t.Helper()
	var m map[string]any
	if err := jsonUnmarshal(r.Body, &m); err != nil {
		t.Fatalf("body is not JSON: %q", r.Body)
	}
	msg, _ := m["message"].(string)
	if e, ok := m["error"].(string); ok {
		msg = e
	}
	return msg, r.Body
}

// 1. Parallel wrong guesses: exactly MAX_ATTEMPTS are compared.
func TestConcurrentWrongGuesses(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	a := env.AddAccount(t)
	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	code := env.LastCode(t, a.Email)

	const n = 200
	reqs := make([]apptest.Request, n)
	for i := range reqs {
		reqs[i] = apptest.Request{Method: "POST", Path: "/auth/otp", Body: validate(a.Email, wrong(code), "a brand new password 1")}
	}
	env.Calls.Reset()
	compared, limited := 0, 0
	for i, r := range fire(t, env, reqs) {
		msg, body := decode(t, r)
		switch {
		case r.StatusCode == 400 && msg == msgInvalidOTP:
			compared++
		case r.StatusCode == 429 && msg == msgTooMany:
			limited++
			retryAfter(t, "429", r.Headers, 3600)
		default:
			t.Errorf("guess %d: got %d %s, want 400 %q or 429", i, r.StatusCode, body, msgInvalidOTP)
		}
	}
	if compared != 5 || limited != n-5 {
		t.Errorf("got %d compared (400), %d limited (429); want 5, %d", compared, limited, n-5)
	}
	// One count of the IP and one of the guess per request, no retries,
	// and one of the account's budget for each guess compared.
	if got := env.Calls.Count("DynamoDB.UpdateItem"); got != 2*n+5 {
		t.Errorf("DynamoDB.UpdateItem calls: got %d, want %d", got, 2*n+5)
	}
	if got := numAttr(codeItem(t, env, a.ID), "attempts"); got != 5 {
		t.Errorf("stored attempts: got %d, want 5", got)
	}
	want(t, "right code after", env.Post(t, "/auth/otp", validate(a.Email, code, "a brand new password 1")), 429, msgTooMany)
	if !env.PasswordIs(t, a.ID, a.Password) {
		t.Error("password changed")
	}
}

// 2. Parallel right guesses: one wins.
func TestConcurrentRightGuesses(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	// One route: /{email}/reset-password and the other families run the
	// same flow and the same store calls.
	for _, route := range []string{"/auth/otp"} {
		t.Run(route, func(t *testing.T) {
			a := env.AddAccount(t)
			want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
			code := env.LastCode(t, a.Email)
			const n = 20
			reqs := make([]apptest.Request, n)
			for i := range reqs {
				pw := fmt.Sprintf("new password number %02d", i)
				if route == "/auth/otp" {
					reqs[i] = apptest.Request{Method: "POST", Path: route, Body: validate(a.Email, code, pw)}
				} else {
					reqs[i] = apptest.Request{Method: "POST", Path: "/" + a.Email + "/reset-password",
						Body: apptest.JSON(map[string]string{"otp": code, "new_password": pw})}
				}
			}
			winner := -1
			for i, r := range fire(t, env, reqs) {
				msg, body := decode(t, r)
				switch {
				case r.StatusCode == 200:
					if winner >= 0 {
						t.Errorf("second success: requests %d and %d", winner, i)
					}
					winner = i
				case r.StatusCode == 400 && msg == msgInvalidOTP, r.StatusCode == 404, r.StatusCode == 429 && msg == msgTooMany:
				default:
					t.Errorf("request %d: got %d %s, want 200, 400/404 invalid or 429", i, r.StatusCode, body)
				}
			}
			if winner < 0 {
				t.Fatal("no request succeeded")
			}
			if got := env.Stored(t, a.ID).SessionVersion; got != 1 {
				t.Errorf("session_version: got %d, want 1 (one password change)", got)
			}
			if !env.PasswordIs(t, a.ID, fmt.Sprintf("new password number %02d", winner)) {
				t.Error("the stored password is not the winner's")
			}
			changed := 0
			for _, m := range env.MailsTo(t, a.Email) {
				if strings.Contains(m.Subject, "password was changed") {
					changed++
				}
			}
			if changed != 1 {
				t.Errorf("password-changed mails: got %d, want 1", changed)
			}
		})
	}
}

// 3. Parallel sends to one account: MAX_SENDS_PER_HOUR mails.
func TestConcurrentSends(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000", "MIN_SEND_INTERVAL": "0s"})
	for _, c := range []struct{ name, path, body string }{
		{"code", "/auth/otp", `{"action":"create","email":%q}`},
		{"link", "/auth/request-reset-password", `{"email":%q}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := env.AddAccount(t)
			const n = 20
			reqs := make([]apptest.Request, n)
			for i := range reqs {
				reqs[i] = apptest.Request{Method: "POST", Path: c.path, Body: fmt.Sprintf(c.body, a.Email)}
			}
			ok, limited := 0, 0
			for i, r := range fire(t, env, reqs) {
				_, body := decode(t, r)
				switch r.StatusCode {
				case 200:
					ok++
				case 429:
					limited++
					retryAfter(t, "429", r.Headers, 3600)
				default:
					t.Errorf("request %d: got %d %s, want 200 or 429", i, r.StatusCode, body)
				}
			}
			if ok != 3 || limited != n-3 {
				t.Errorf("got %d sent, %d limited; want 3, %d", ok, limited, n-3)
			}
			if got := len(env.MailsTo(t, a.Email)); got != 3 {
				t.Errorf("mails to %s: got %d, want 3", a.Email, got)
			}
		})
	}
}

// 4. The daily failure budget holds across codes.
func TestFailureBudget(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"MIN_SEND_INTERVAL": "0s", "MAX_SENDS_PER_HOUR": "100", "IP_LIMIT": "100000"})
	a := env.AddAccount(t)
	const newPassword = "a new and long password"
	spent := 0
	for spent < 20 {
		want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		code := env.LastCode(t, a.Email)
		for range 5 {
			want(t, fmt.Sprintf("wrong guess %d", spent+1), env.Post(t, "/auth/otp", validate(a.Email, wrong(code), newPassword)), 400, msgInvalidOTP)
			spent++
		}
	}
	// A new code does not restore the budget: even its right guess is refused.
	want(t, "create after the budget", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	code := env.LastCode(t, a.Email)
	r := env.Post(t, "/auth/otp", validate(a.Email, code, newPassword))
	want(t, "right guess after the budget", r, 429, msgTooMany)
	if n := retryAfter(t, "budget 429", r.Headers, 24*3600); n < 23*3600 {
		t.Errorf("Retry-After: got %d, want about a day", n)
	}
	if !env.PasswordIs(t, a.ID, a.Password) {
		t.Fatal("password changed after the budget was spent")
	}
	env.Clock.Advance(24*time.Hour + time.Second)
	want(t, "create after a day", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	code = env.LastCode(t, a.Email)
	want(t, "right guess after a day", env.Post(t, "/auth/otp", validate(a.Email, code, newPassword)), 200, "")
	if !env.PasswordIs(t, a.ID, newPassword) {
		t.Error("new password not stored")
	}
}

// 5. Per-IP limits, by source IP only.
func TestPerIPLimits(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const ip, other = "203.0.113.50", "203.0.113.51"
	spoof := func(i int) map[string]string {
		return map[string]string{
			"X-Forwarded-For": fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			"Forwarded":       fmt.Sprintf("for=10.1.%d.%d", i/250, i%250+1),
			"X-Real-IP":       fmt.Sprintf("10.2.%d.%d", i/250, i%250+1),
		}
	}
	// Unknown, distinct emails, so that no per-account limit bites.
	email := func(kind string, i int) string { return fmt.Sprintf("nobody-%s-%d@example.test", kind, i) }
	send := func(i int, from string) apptest.Response {
		return env.Do(t, apptest.Request{Method: "POST", Path: "/auth/otp", Body: createCode(email("s", i)), Headers: spoof(i), IP: from})
	}
	verify := func(i int, from string) apptest.Response {
		return env.Do(t, apptest.Request{Method: "POST", Path: "/auth/otp", Body: validate(email("v", i), "123456", "a new and long password"), Headers: spoof(i), IP: from})
	}
	for i := range 30 {
		want(t, fmt.Sprintf("send %d", i+1), send(i, ip), 200, "")
	}
	r := send(30, ip)
	want(t, "send 31", r, 429, "Too many OTP requests. Please try again later.")
	retryAfter(t, "send 31", r.Headers, 300)
	want(t, "send from another IP", send(31, other), 200, "")
	// Verifications have their own counter.
	for i := range 30 {
		want(t, fmt.Sprintf("verify %d", i+1), verify(i, ip), 400, msgInvalidOTP)
	}
	r = verify(30, ip)
	want(t, "verify 31", r, 429, msgTooMany)
	retryAfter(t, "verify 31", r.Headers, 300)
	want(t, "verify from another IP", verify(31, other), 400, msgInvalidOTP)

	env.Clock.Advance(5 * time.Minute)
	want(t, "send after the window", send(40, ip), 200, "")
	want(t, "verify after the window", verify(40, ip), 400, msgInvalidOTP)
}

// 6. MIN_SEND_INTERVAL.
func TestMinSendInterval(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	want(t, "1st send", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	r := env.Post(t, "/auth/otp", createCode(a.Email))
	want(t, "2nd send at once", r, 429, "")
	if n := retryAfter(t, "2nd send", r.Headers, 3600); n != 60 {
		t.Errorf("Retry-After: got %d, want 60", n)
	}
	env.Clock.Advance(30 * time.Second)
	r = env.Post(t, "/auth/otp", createCode(a.Email))
	want(t, "send at +30s", r, 429, "")
	if n := retryAfter(t, "send at +30s", r.Headers, 3600); n != 30 {
		t.Errorf("Retry-After: got %d, want 30", n)
	}
	env.Clock.Advance(31 * time.Second)
	want(t, "send at +61s", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	if got := len(env.MailsTo(t, a.Email)); got != 2 {
		t.Errorf("mails: got %d, want 2", got)
	}
}

func tokenHash(token string) string {
	return sha256Hex(token)
}

// 7. Expiry is checked by the store, not left to TTL.
func TestExpiry(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	const pw = "a new and long password"
	otpTTL, linkTTL := env.Config.Reset.OTPTTL, env.Config.Reset.LinkTTL

	// Code at OTP_TTL-1s works; at OTP_TTL+1s it is refused though stored.
	a := env.AddAccount(t)
	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	env.Clock.Advance(otpTTL - time.Second)
	want(t, "code at TTL-1s", env.Post(t, "/auth/otp", validate(a.Email, env.LastCode(t, a.Email), pw)), 200, "")

	b := env.AddAccount(t)
	want(t, "create", env.Post(t, "/auth/otp", createCode(b.Email)), 200, "")
	env.Clock.Advance(otpTTL + time.Second)
	code := env.LastCode(t, b.Email)
	want(t, "code at TTL+1s", env.Post(t, "/auth/otp", validate(b.Email, code, pw)), 400, msgInvalidOTP)
	want(t, "code at TTL+1s, by path", env.Post(t, "/"+b.Email+"/reset-password", apptest.JSON(map[string]string{"otp": code, "new_password": pw})), 404, msgInvalidOTP)
	it := codeItem(t, env, b.ID)
	if exp := numAttr(it, "code_expires_at"); exp >= env.Clock.Now().Unix() {
		t.Errorf("stored code_expires_at %d, want before now %d", exp, env.Clock.Now().Unix())
	}
	if !env.PasswordIs(t, b.ID, b.Password) {
		t.Error("password changed by an expired code")
	}

	// Links.
	c := env.AddAccount(t)
	want(t, "request link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": c.Email})), 200, "")
	env.Clock.Advance(linkTTL - time.Second)
	want(t, "link at TTL-1s", env.Post(t, "/auth/reset-password", linkReset(env.LastToken(t, c.Email), pw)), 200, "")

	d := env.AddAccount(t)
	want(t, "request link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": d.Email})), 200, "")
	env.Clock.Advance(linkTTL + time.Second)
	token := env.LastToken(t, d.Email)
	want(t, "link at TTL+1s", env.Post(t, "/auth/reset-password", linkReset(token, pw)), 400, msgInvalidToken)
	want(t, "link at TTL+1s, in path", env.Post(t, "/auth/reset-password/"+token, apptest.JSON(map[string]string{"new_password": pw})), 400, msgInvalidToken)
	out, err := env.DB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(env.Config.TokensTable),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "link#" + tokenHash(token)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Item) == 0 {
		t.Error("the expired link item is gone; the test did not exercise the store's own expiry check")
	}
	if !env.PasswordIs(t, d.ID, d.Password) {
		t.Error("password changed by an expired link")
	}
}

// 8. Only the latest code or link works, and only once.
func TestSupersededAndUsed(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)

	t.Run("code", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "1st create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		first := env.LastCode(t, a.Email)
		env.Clock.Advance(61 * time.Second)
		want(t, "2nd create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		second := env.LastCode(t, a.Email)
		if first == second {
			t.Skip("the two codes are equal by chance")
		}
		want(t, "superseded code", env.Post(t, "/auth/otp", validate(a.Email, first, "a new and long password")), 400, msgInvalidOTP)
		want(t, "latest code", env.Post(t, "/auth/otp", validate(a.Email, second, "a new and long password")), 200, "")
		want(t, "used code", env.Post(t, "/auth/otp", validate(a.Email, second, "another long password")), 400, msgInvalidOTP)
		if !env.PasswordIs(t, a.ID, "a new and long password") {
			t.Error("password is not the one set by the latest code")
		}
	})
	t.Run("link", func(t *testing.T) {
		a := env.AddAccount(t)
		body := apptest.JSON(map[string]string{"email": a.Email})
		want(t, "1st link", env.Post(t, "/auth/request-reset-password", body), 200, "")
		first := env.LastToken(t, a.Email)
		env.Clock.Advance(61 * time.Second)
		want(t, "2nd link", env.Post(t, "/auth/request-reset-password", body), 200, "")
		second := env.LastToken(t, a.Email)
		want(t, "superseded link", env.Post(t, "/auth/reset-password", linkReset(first, "a new and long password")), 400, msgInvalidToken)
		want(t, "latest link", env.Post(t, "/auth/reset-password", linkReset(second, "a new and long password")), 200, "")
		want(t, "used link", env.Post(t, "/auth/reset-password", linkReset(second, "another long password")), 400, msgInvalidToken)
		want(t, "used link, in path", env.Post(t, "/auth/reset-password/"+second, apptest.JSON(map[string]string{"new_password": "another long password"})), 400, msgInvalidToken)
		if !env.PasswordIs(t, a.ID, "a new and long password") {
			t.Error("password is not the one set by the latest link")
		}
	})
}

// 9. A password change by any route kills every outstanding code and link.
func TestPasswordChangeKillsCodesAndLinks(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	linkBody := func(a apptest.Account) string { return apptest.JSON(map[string]string{"email": a.Email}) }

	t.Run("another route", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "code", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		env.Clock.Advance(61 * time.Second)
		want(t, "link", env.Post(t, "/auth/request-reset-password", linkBody(a)), 200, "")
		code, token := env.LastCode(t, a.Email), env.LastToken(t, a.Email)

		const adminPassword = "set by the admin elsewhere"
		env.ChangePasswordElsewhere(t, a.ID, adminPassword)
		want(t, "code after the change", env.Post(t, "/auth/otp", validate(a.Email, code, "a new and long password")), 400, msgInvalidOTP)
		want(t, "link after the change", env.Post(t, "/auth/reset-password", linkReset(token, "a new and long password")), 400, msgInvalidToken)
		if !env.PasswordIs(t, a.ID, adminPassword) {
			t.Error("the password is no longer the one set elsewhere")
		}
	})
	t.Run("reset by code kills the link", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "link", env.Post(t, "/auth/request-reset-password", linkBody(a)), 200, "")
		env.Clock.Advance(61 * time.Second)
		want(t, "code", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		want(t, "reset by code", env.Post(t, "/auth/otp", validate(a.Email, env.LastCode(t, a.Email), "password from the code")), 200, "")
		want(t, "link after", env.Post(t, "/auth/reset-password", linkReset(env.LastToken(t, a.Email), "password from the link")), 400, msgInvalidToken)
		if !env.PasswordIs(t, a.ID, "password from the code") {
			t.Error("password is not the code's")
		}
	})
	t.Run("reset by link kills the code", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "code", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		env.Clock.Advance(61 * time.Second)
		want(t, "link", env.Post(t, "/auth/request-reset-password", linkBody(a)), 200, "")
		want(t, "reset by link", env.Post(t, "/auth/reset-password", linkReset(env.LastToken(t, a.Email), "password from the link")), 200, "")
		want(t, "code after", env.Post(t, "/auth/otp", validate(a.Email, env.LastCode(t, a.Email), "password from the code")), 400, msgInvalidOTP)
		if !env.PasswordIs(t, a.ID, "password from the link") {
			t.Error("password is not the link's")
		}
	})
}

// 10. Family E: a code is bound to the device that asked; a mismatch is a
// wrong guess.
func TestDeviceBinding(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	phone := map[string]string{"User-Agent": "phone/1.0"}
	laptop := map[string]string{"User-Agent": "laptop/2.0"}
	r := env.Do(t, apptest.Request{Method: "POST", Path: "/auth/forgot-password", Body: apptest.JSON(map[string]string{"userEmail": a.Email}), Headers: phone})
	want(t, "request", r, 201, "OTP sent to mail!")
	code := env.LastCode(t, a.Email)
	put := func(h map[string]string) apptest.Response {
		return env.Do(t, apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Headers: h,
			Body: apptest.JSON(map[string]string{"userEmail": a.Email, "otp": code, "newPassword": "a new and long password"})})
	}
	want(t, "right code, other device", put(laptop), 401, "Your device is unauthorized.")
	if got := numAttr(codeItem(t, env, a.ID), "attempts"); got != 1 {
		t.Errorf("attempts after a device mismatch: got %d, want 1", got)
	}
	for i := 2; i <= 5; i++ {
		want(t, fmt.Sprintf("mismatch %d", i), put(laptop), 401, "Your device is unauthorized.")
	}
	want(t, "right code, right device, after 5 mismatches", put(phone), 429, "OTP request limit exceeded. Please try again later.")
	if !env.PasswordIs(t, a.ID, a.Password) {
		t.Error("password changed")
	}
}

// 11. AWS calls per flow, counted at the SDK.
func TestAWSCallsPerFlow(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	measure := func(name string, maxTotal, maxDynamo, wantSES int, do func() apptest.Response, status int) {
		t.Helper()
		env.Calls.Reset()
		env.Metrics.Take()
		r := do()
		want(t, name, r, status, "")
		order := env.Calls.Order()
		t.Logf("%s: %d calls: %s", name, len(order), strings.Join(order, " → "))
		if got := env.Calls.Total(); got > maxTotal {
			t.Errorf("%s: got %d calls (AWS and hook), want ≤ %d", name, got, maxTotal)
		}
		if got := env.Calls.Service("DynamoDB"); got > maxDynamo {
			t.Errorf("%s: got %d DynamoDB calls, want ≤ %d", name, got, maxDynamo)
		}
		if got := env.Calls.Count("SESv2.SendEmail"); got != wantSES {
			t.Errorf("%s: got %d SESv2.SendEmail, want %d", name, got, wantSES)
		}
		// The counts above are with metrics on: writing them is no AWS
		// call (CloudWatch Logs makes metrics of the lines).
		if lines := env.Metrics.Take(); len(lines) == 0 {
			t.Errorf("%s: no metrics written; want the calls counted with metrics on", name)
		}
	}
	// Behind the hook the lookups are the hook's, and a reset completes
	// in two phases (claim, set the password, finish) and ends the
	// sessions by a call: more calls, fewer of them DynamoDB's.
	type limits struct{ total, dynamo int }
	per := map[string][5]limits{
		apptest.BackendDynamoDB: {{4, 3}, {3, 3}, {6, 5}, {4, 3}, {5, 4}},
		apptest.BackendWebhook:  {{4, 2}, {3, 3}, {9, 5}, {4, 2}, {8, 4}},
		// On Cognito as behind the hook, and one call more per reset:
		// Cognito has no conditional set, so the user's version is read
		// again (AdminGetUser) before AdminSetUserPassword.
		apptest.BackendCognito: {{4, 2}, {3, 3}, {10, 5}, {4, 2}, {9, 4}},
	}[apptest.Backend(t)]
	measure("request a code", per[0].total, per[0].dynamo, 1, func() apptest.Response { return env.Post(t, "/auth/otp", createCode(a.Email)) }, 200)
	code := env.LastCode(t, a.Email)
	// A guess is counted on the name, then on the account (the hidden
	// budget across its names); nothing else is read until it is right.
	measure("wrong guess by email", per[1].total, per[1].dynamo, 0, func() apptest.Response {
		return env.Post(t, "/auth/otp", validate(a.Email, wrong(code), "a new and long password"))
	}, 400)
	measure("right guess (reset)", per[2].total, per[2].dynamo, 1, func() apptest.Response {
		return env.Post(t, "/auth/otp", validate(a.Email, code, "a new and long password"))
	}, 200)
	env.Clock.Advance(61 * time.Second)
	measure("request a link", per[3].total, per[3].dynamo, 1, func() apptest.Response {
		return env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email}))
	}, 200)
	token := env.LastToken(t, a.Email)
	measure("reset with a link", per[4].total, per[4].dynamo, 1, func() apptest.Response {
		return env.Post(t, "/auth/reset-password", linkReset(token, "another new long password"))
	}, 200)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
