package gateway_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
)

// The two-step code reset: POST /auth/otp with "verify" exchanges a right
// code for a grant, "complete" sets the password with it. On DynamoDB
// Local (or PostgreSQL behind the hook), through the handler.

const msgVerified = "Successfully verified OTP. Choose a new password."
const msgReset = "Successfully validated OTP and reset password."

func verify(email, code string) string {
	return apptest.JSON(map[string]string{"action": "verify", "email": email, "otp": code})
}

func complete(grant, pw string) string {
	return apptest.JSON(map[string]string{"action": "complete", "grant": grant, "new_password": pw})
}

var grantShape = regexp.MustCompile(`^[0-9a-f]{64}$`)

// grantFor asks a code for a, proves it, and returns the grant.
func grantFor(t *testing.T, env *apptest.Env, a apptest.Account) string {
	t.Helper()
	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	r := env.Post(t, "/auth/otp", verify(a.Email, env.LastCode(t, a.Email)))
	want(t, "verify", r, 200, msgVerified)
	g, _ := r.JSON["grant"].(string)
	if !grantShape.MatchString(g) {
		t.Fatalf("verify: grant %q, want 64 hex digits", g)
	}
	return g
}

// passwordChangedMails counts the notices a received.
func passwordChangedMails(t *testing.T, env *apptest.Env, a apptest.Account) int {
	t.Helper()
	n := 0
	for _, m := range env.MailsTo(t, a.Email) {
		if strings.Contains(m.Subject, "password was changed") {
			n++
		}
	}
	return n
}

func TestGrantTwoSteps(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	code := env.LastCode(t, a.Email)
	r := env.Post(t, "/auth/otp", verify(a.Email, code))
	want(t, "verify", r, 200, msgVerified)
	if r.JSON["success"] != true || r.JSON["expires_in"] != float64(300) || !grantShape.MatchString(fmt.Sprint(r.JSON["grant"])) {
		t.Fatalf("verify: got %s, want success, a 64-hex grant and expires_in 300", r.Body)
	}
	grant := r.JSON["grant"].(string)
	if env.Stored(t, a.ID).SessionVersion != 0 || !env.PasswordIs(t, a.ID, a.Password) {
		t.Fatal("verify changed the account")
	}
	// The code is used up by the exchange: on either step, and the one-step route.
	want(t, "the code again, one step", env.Post(t, "/auth/otp", validate(a.Email, code, "a new and long password")), 400, msgInvalidOTP)
	want(t, "the code again, verify", env.Post(t, "/auth/otp", verify(a.Email, code)), 400, msgInvalidOTP)
	// A grant is no link token.
	want(t, "the grant as a link", env.Post(t, "/auth/reset-password", linkReset(grant, "a new and long password")), 400, msgInvalidToken)

	r = env.Post(t, "/auth/otp", complete(grant, "a new and long password"))
	want(t, "complete", r, 200, msgReset)
	if len(r.JSON) != 2 || r.JSON["success"] != true {
		t.Errorf("complete: body %s, want validate's", r.Body)
	}
	if !env.PasswordIs(t, a.ID, "a new and long password") || env.PasswordIs(t, a.ID, a.Password) {
		t.Error("the new password is not the stored one")
	}
	if got := env.Stored(t, a.ID).SessionVersion; got != 1 {
		t.Errorf("session_version: got %d, want 1", got)
	}
	if n := passwordChangedMails(t, env, a); n != 1 {
		t.Errorf("password-changed mails: got %d, want 1", n)
	}
}

// A wrong guess at the first step counts as one at the one-step route: the
// same MAX_ATTEMPTS of the code, the same daily budget of the account.
func TestGrantGuessesCountLikeOneStep(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"MIN_SEND_INTERVAL": "0s", "MAX_SENDS_PER_HOUR": "100", "IP_LIMIT": "100000"})
	const pw = "a new and long password"

	t.Run("MAX_ATTEMPTS", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		code := env.LastCode(t, a.Email)
		for i := range 3 {
			want(t, fmt.Sprintf("wrong verify %d", i+1), env.Post(t, "/auth/otp", verify(a.Email, wrong(code))), 400, msgInvalidOTP)
		}
		if got := numAttr(codeItem(t, env, a.ID), "attempts"); got != 3 {
			t.Errorf("stored attempts after 3 wrong verifies: got %d, want 3", got)
		}
		for i := range 2 {
			want(t, fmt.Sprintf("wrong validate %d", i+1), env.Post(t, "/auth/otp", validate(a.Email, wrong(code), pw)), 400, msgInvalidOTP)
		}
		r := env.Post(t, "/auth/otp", verify(a.Email, code))
		want(t, "right verify after 5 guesses", r, 429, msgTooMany)
		retryAfter(t, "429", r.Headers, 3600)
		want(t, "right validate after 5 guesses", env.Post(t, "/auth/otp", validate(a.Email, code, pw)), 429, msgTooMany)
	})
	t.Run("daily budget", func(t *testing.T) {
		a := env.AddAccount(t)
		for spent := 0; spent < 20; {
			want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
			code := env.LastCode(t, a.Email)
			for i := range 5 {
				body := verify(a.Email, wrong(code))
				if i%2 == 1 {
					body = validate(a.Email, wrong(code), pw)
				}
				want(t, fmt.Sprintf("wrong guess %d", spent+1), env.Post(t, "/auth/otp", body), 400, msgInvalidOTP)
				spent++
			}
		}
		want(t, "create after the budget", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		code := env.LastCode(t, a.Email)
		r := env.Post(t, "/auth/otp", verify(a.Email, code))
		want(t, "right verify after the budget", r, 429, msgTooMany)
		if n := retryAfter(t, "budget 429", r.Headers, 24*3600); n < 23*3600 {
			t.Errorf("Retry-After: got %d, want about a day", n)
		}
		if _, ok := r.JSON["grant"]; ok {
			t.Errorf("a refused verify carries a grant: %s", r.Body)
		}
	})
}

func TestGrantSingleUse(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	a := env.AddAccount(t)
	grant := grantFor(t, env, a)
	// A refused password does not use the grant up.
	want(t, "weak password", env.Post(t, "/auth/otp", complete(grant, "password")), 400, "")
	// Cognito shows no hash to compare the current password with (its
	// pool's password history refuses it there: notOnCognito).
	if apptest.Backend(t) != apptest.BackendCognito {
		want(t, "the current password", env.Post(t, "/auth/otp", complete(grant, a.Password)), 400, "")
	}
	want(t, "complete", env.Post(t, "/auth/otp", complete(grant, "the first new password")), 200, msgReset)
	want(t, "replayed with another password", env.Post(t, "/auth/otp", complete(grant, "the second new password")), 400, msgInvalidOTP)
	if !env.PasswordIs(t, a.ID, "the first new password") {
		t.Error("the password is not the first completion's")
	}
	// Malformed and unknown grants.
	want(t, "unknown grant", env.Post(t, "/auth/otp", complete(strings.Repeat("ab", 32), "a new and long password")), 400, msgInvalidOTP)
	want(t, "malformed grant", env.Post(t, "/auth/otp", complete("not-a-grant", "a new and long password")), 400, msgInvalidOTP)
	want(t, "no grant", env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "complete", "new_password": "a new and long password"})), 400, "Invalid request body.")
	want(t, "verify without otp", env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "verify", "email": a.Email})), 400, "Invalid request body.")
}

// 30 parallel completions with one grant: exactly one 200. Each has its
// own password: the same one again would be a repeat of the winner's
// request, answered with its success (TestRepeatedCompletion).
func TestGrantThirtyParallelCompletions(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	a := env.AddAccount(t)
	grant := grantFor(t, env, a)
	const n = 30
	reqs := make([]apptest.Request, n)
	for i := range reqs {
		reqs[i] = apptest.Request{Method: "POST", Path: "/auth/otp", Body: complete(grant, fmt.Sprintf("new password number %02d", i))}
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
		case r.StatusCode == 400 && msg == msgInvalidOTP:
		default:
			t.Errorf("request %d: got %d %s, want 200 or 400 %q", i, r.StatusCode, body, msgInvalidOTP)
		}
	}
	if winner < 0 {
		t.Fatal("no completion succeeded")
	}
	if got := env.Stored(t, a.ID).SessionVersion; got != 1 {
		t.Errorf("session_version: got %d, want 1", got)
	}
	if !env.PasswordIs(t, a.ID, fmt.Sprintf("new password number %02d", winner)) {
		t.Error("the stored password is not the winner's")
	}
	if n := passwordChangedMails(t, env, a); n != 1 {
		t.Errorf("password-changed mails: got %d, want 1", n)
	}
}

// What kills a grant: its time, a password change by any route, a newer
// code or link.
func TestGrantDies(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"GRANT_TTL": "2m"})
	const pw = "a new and long password"
	t.Run("expiry", func(t *testing.T) {
		a := env.AddAccount(t)
		grant := grantFor(t, env, a)
		env.Clock.Advance(2 * time.Minute)
		want(t, "at its expiry", env.Post(t, "/auth/otp", complete(grant, pw)), 400, msgInvalidOTP)
		if !env.PasswordIs(t, a.ID, a.Password) {
			t.Error("password changed")
		}
	})
	t.Run("just before expiry", func(t *testing.T) {
		a := env.AddAccount(t)
		r := env.Post(t, "/auth/otp", createCode(a.Email))
		want(t, "create", r, 200, "")
		r = env.Post(t, "/auth/otp", verify(a.Email, env.LastCode(t, a.Email)))
		if r.JSON["expires_in"] != float64(120) {
			t.Errorf("expires_in: got %v, want 120 (GRANT_TTL)", r.JSON["expires_in"])
		}
		env.Clock.Advance(2*time.Minute - time.Second)
		want(t, "a second before", env.Post(t, "/auth/otp", complete(r.JSON["grant"].(string), pw)), 200, msgReset)
	})
	t.Run("password changed elsewhere", func(t *testing.T) {
		a := env.AddAccount(t)
		grant := grantFor(t, env, a)
		env.ChangePasswordElsewhere(t, a.ID, "set by the admin elsewhere")
		want(t, "after the change", env.Post(t, "/auth/otp", complete(grant, pw)), 400, msgInvalidOTP)
		if !env.PasswordIs(t, a.ID, "set by the admin elsewhere") {
			t.Error("the password is no longer the one set elsewhere")
		}
	})
	t.Run("a new code", func(t *testing.T) {
		a := env.AddAccount(t)
		grant := grantFor(t, env, a)
		env.Clock.Advance(61 * time.Second)
		want(t, "new code", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		want(t, "after a new code", env.Post(t, "/auth/otp", complete(grant, pw)), 400, msgInvalidOTP)
	})
	t.Run("a new link", func(t *testing.T) {
		a := env.AddAccount(t)
		grant := grantFor(t, env, a)
		env.Clock.Advance(61 * time.Second)
		want(t, "new link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200, "")
		want(t, "after a new link", env.Post(t, "/auth/otp", complete(grant, pw)), 400, msgInvalidOTP)
	})
	t.Run("the grant kills earlier links", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200, "")
		token := env.LastToken(t, a.Email)
		env.Clock.Advance(61 * time.Second)
		grantFor(t, env, a)
		want(t, "the earlier link", env.Post(t, "/auth/reset-password", linkReset(token, pw)), 400, msgInvalidToken)
	})
}

// An unknown account at the first step is answered exactly as a known one
// with a wrong code: status, body, headers and number of calls, with no
// code asked for and with one (the decoy's).
func TestGrantUnknownAccountLikeWrongCode(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	measure := func(body string) (apptest.Response, int) {
		env.Calls.Reset()
		r := env.Post(t, "/auth/otp", body)
		return r, env.Calls.Total()
	}
	same := func(what string, known, unknown apptest.Response, kc, uc int) {
		t.Helper()
		if known.Status != unknown.Status || known.Body != unknown.Body || fmt.Sprint(known.Headers) != fmt.Sprint(unknown.Headers) {
			t.Errorf("%s: known %d %v %s, unknown %d %v %s", what, known.Status, known.Headers, known.Body, unknown.Status, unknown.Headers, unknown.Body)
		}
		if kc != uc {
			t.Errorf("%s: %d calls for a known account, %d for an unknown one", what, kc, uc)
		}
	}
	a, nobody := env.AddAccount(t), unknownEmail()
	k, kc := measure(verify(a.Email, "123456"))
	u, uc := measure(verify(nobody, "123456"))
	want(t, "known, no code", k, 400, msgInvalidOTP)
	same("no code asked for", k, u, kc, uc)

	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	want(t, "create unknown", env.Post(t, "/auth/otp", createCode(nobody)), 200, "")
	code := env.LastCode(t, a.Email)
	k, kc = measure(verify(a.Email, wrong(code)))
	u, uc = measure(verify(nobody, code))
	want(t, "known, wrong code", k, 400, msgInvalidOTP)
	same("a code asked for", k, u, kc, uc)
	// And the limits: both codes die after MAX_ATTEMPTS alike.
	for range 5 {
		k, kc = measure(verify(a.Email, wrong(code)))
		u, uc = measure(verify(nobody, code))
	}
	want(t, "known, spent", k, 429, msgTooMany)
	same("spent", k, u, kc, uc)
}

// The grant is never logged, never in a metric, and shown in no answer but
// the one that gives it.
func TestGrantNeverLeaks(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	w := &secretWatch{env: env, secrets: map[string]string{}}
	a := w.account(t)
	if r := w.post(t, "/auth/otp", "action", "create", "email", a.Email); r.Status != 200 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	code := w.code(t, a)
	w.learn("a submitted otp", code)
	// The one answer that carries the grant is not watched.
	r := env.Post(t, "/auth/otp", verify(a.Email, code))
	grant, _ := r.JSON["grant"].(string)
	if r.Status != 200 || grant == "" {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	w.learn("a grant", grant)
	w.learn("a stored grant hash", tokenHash("grant\x00"+grant))
	w.harvest(t)
	for _, pw := range []string{"short", a.Password, "leak-test: the new password", "leak-test: another password"} {
		w.post(t, "/auth/otp", "action", "complete", "grant", grant, "new_password", pw)
	}
	w.post(t, "/auth/otp", "action", "complete", "grant", grant, "new_password", "leak-test: the new password") // a repeat
	w.passwordHash(t, a)
	w.check(t)
}
