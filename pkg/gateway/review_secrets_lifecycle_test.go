package gateway_test

// Review findings on how long a code or link lives: a change of the
// account's stored email kills it, and only the newest secret of an
// account works, whichever kind and whichever name it was asked for by.

import (
	"context"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
)

// reviewSetEmail changes the account's stored email as the app would
// (apptest.ChangeEmailElsewhere): on DynamoDB only the email attribute, not
// session_version, so the code or link must die on the address alone;
// behind the hook the protocol moves the version with every change.
func reviewSetEmail(t *testing.T, env *apptest.Env, id, email string) {
	t.Helper()
	before := env.Stored(t, id)
	env.ChangeEmailElsewhere(t, id, email)
	after := env.Stored(t, id)
	wantVersion := before.SessionVersion
	if apptest.Backend(t) == apptest.BackendWebhook {
		wantVersion++
	}
	if after.Email != email || after.SessionVersion != wantVersion || after.PasswordHash != before.PasswordHash {
		t.Fatalf("after the email change: email %q, version %d (was %d); want %q, version %d and the password unchanged",
			after.Email, after.SessionVersion, before.SessionVersion, email, wantVersion)
	}
}

// TestReviewEmailChangeKillsCodeAndLink: a code or link mailed before the
// account's stored email changed no longer works, on every route.
func TestReviewEmailChangeKillsCodeAndLink(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	newEmail := func() string { return "changed-" + randHex(6) + "@example.test" }

	runRows(t, env, true, []row{
		{"L: link, token in body", func(t *testing.T, c *client) reply {
			a := c.account(t)
			token := c.sendL(t, a.Email)
			reviewSetEmail(t, env, a.ID, newEmail())
			r := c.post(t, "/auth/reset-password", js("token", token, "new_password", newPassword))
			wantPassword(t, env, a, a.Password)
			return r
		}, 400, linkInvalidToken},
		{"L: link, token in path", func(t *testing.T, c *client) reply {
			a := c.account(t)
			token := c.sendL(t, a.Email)
			reviewSetEmail(t, env, a.ID, newEmail())
			r := c.post(t, "/auth/reset-password/"+token, js("new_password", newPassword))
			wantPassword(t, env, a, a.Password)
			return r
		}, 400, linkInvalidToken},
		{"N validate: code, by the email it was asked for by", func(t *testing.T, c *client) reply {
			a := c.account(t)
			code := c.sendN(t, a.Email)
			reviewSetEmail(t, env, a.ID, newEmail())
			r := c.post(t, "/auth/otp", js("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword))
			wantPassword(t, env, a, a.Password)
			return r
		}, 400, codeByActionInvalidOTP},
		{"N validate: code, by the new email", func(t *testing.T, c *client) reply {
			a := c.account(t)
			code := c.sendN(t, a.Email)
			changed := newEmail()
			reviewSetEmail(t, env, a.ID, changed)
			r := c.post(t, "/auth/otp", js("action", "validate", "email", changed, "otp", code, "new_password", newPassword))
			wantPassword(t, env, a, a.Password)
			return r
		}, 400, codeByActionInvalidOTP},
		{"0 reset: code, by the email it was asked for by", func(t *testing.T, c *client) reply {
			a := c.account(t)
			code := c.send0(t, a.Email)
			reviewSetEmail(t, env, a.ID, newEmail())
			r := c.post(t, "/reset-password", js("email", a.Email, "otp", code, "newPassword", newPassword))
			wantPassword(t, env, a, a.Password)
			return r
		}, 401, minimalInvalidOTP},
		{"E PUT: code asked for by email, by that email", func(t *testing.T, c *client) reply {
			a := c.account(t)
			code := c.sendE(t, a)
			reviewSetEmail(t, env, a.ID, newEmail())
			r := c.put(t, js("userEmail", a.Email, "otp", code, "newPassword", newPassword), "")
			wantPassword(t, env, a, a.Password)
			return r
		}, 400, userNameOrEmailInvalidOTP},
		{"E PUT: code asked for by user name, by that user name", func(t *testing.T, c *client) reply {
			a := c.account(t)
			must(t, c.forgot(t, js("userName", a.Username), ""), 201, userNameOrEmailSent)
			code := c.code(t, a.Email)
			reviewSetEmail(t, env, a.ID, newEmail())
			r := c.put(t, js("userName", a.Username, "otp", code, "newPassword", newPassword), "")
			wantPassword(t, env, a, a.Password)
			return r
		}, 400, userNameOrEmailInvalidOTP},
	})
}

// reviewOpenPage opens the page a mailed link points to, as a browser
// does, and returns its status and the section it shows.
func reviewOpenPage(t *testing.T, env *apptest.Env, token string) (int, string) {
	t.Helper()
	ev := env.Event(t, apptest.Request{Method: "GET", Path: "/auth/reset-password/" + token, Headers: map[string]string{"Accept": browserAccept}})
	resp, err := env.Handler.Handle(context.Background(), ev)
	if err != nil {
		t.Fatalf("GET /auth/reset-password/{token}: handler returned an error: %v", err)
	}
	return resp.StatusCode, view(t, resp.Body)
}

// TestReviewNewestSecretKillsEarlierOnes: issuing a code or a link kills
// every earlier code and link of the account, across kinds and across the
// names the account was asked for by.
func TestReviewNewestSecretKillsEarlierOnes(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const pastInterval = 61 * time.Second // MIN_SEND_INTERVAL is 60 s

	// The rows move the clock: one after another.
	runRows(t, env, false, []row{
		{"a newer code kills the link", func(t *testing.T, c *client) reply {
			a := c.account(t)
			token := c.sendL(t, a.Email)
			if status, section := reviewOpenPage(t, env, token); status != 200 || section != "reset" {
				t.Fatalf("the page of the live link: %d %q, want 200 \"reset\"", status, section)
			}
			env.Clock.Advance(pastInterval)
			code := c.sendN(t, a.Email)
			if status, section := reviewOpenPage(t, env, token); status != 404 || section != "expired" {
				t.Errorf("the page of the link after a newer code: %d %q, want 404 \"expired\"", status, section)
			}
			// must: a reset that went through would kill the newer code too.
			must(t, c.post(t, "/auth/reset-password", js("token", token, "new_password", newPassword)), 400, linkInvalidToken)
			must(t, c.post(t, "/auth/reset-password/"+token, js("new_password", newPassword)), 400, linkInvalidToken)
			wantPassword(t, env, a, a.Password)
			// The newer code is the one that works.
			return c.post(t, "/auth/otp", js("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword))
		}, 200, codeByActionReset},
		{"a newer link kills the code", func(t *testing.T, c *client) reply {
			a := c.account(t)
			code := c.sendN(t, a.Email)
			env.Clock.Advance(pastInterval)
			token := c.sendL(t, a.Email)
			// must: a reset that went through would kill the newer link too.
			must(t, c.post(t, "/auth/otp", js("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword)), 400, codeByActionInvalidOTP)
			must(t, c.post(t, "/reset-password", js("email", a.Email, "otp", code, "newPassword", newPassword)), 401, minimalInvalidOTP)
			wantPassword(t, env, a, a.Password)
			// The newer link is the one that works.
			return c.post(t, "/auth/reset-password", js("token", token, "new_password", newPassword))
		}, 200, linkDone},
		{"a code asked for by user name kills the code asked for by email", func(t *testing.T, c *client) reply {
			a := c.account(t)
			byEmail := c.sendE(t, a)
			env.Clock.Advance(pastInterval)
			must(t, c.forgot(t, js("userName", a.Username), ""), 201, userNameOrEmailSent)
			byName := c.code(t, a.Email)
			if byName == byEmail {
				t.Skip("the two codes are equal by chance")
			}
			must(t, c.put(t, js("userEmail", a.Email, "otp", byEmail, "newPassword", newPassword), ""), 400, userNameOrEmailInvalidOTP)
			wantPassword(t, env, a, a.Password)
			return c.put(t, js("userName", a.Username, "otp", byName, "newPassword", newPassword), "")
		}, 201, userNameOrEmailDone},
		{"a code asked for by email kills the code asked for by user name", func(t *testing.T, c *client) reply {
			a := c.account(t)
			must(t, c.forgot(t, js("userName", a.Username), ""), 201, userNameOrEmailSent)
			byName := c.code(t, a.Email)
			env.Clock.Advance(pastInterval)
			byEmail := c.sendE(t, a)
			if byName == byEmail {
				t.Skip("the two codes are equal by chance")
			}
			must(t, c.put(t, js("userName", a.Username, "otp", byName, "newPassword", newPassword), ""), 400, userNameOrEmailInvalidOTP)
			wantPassword(t, env, a, a.Password)
			return c.put(t, js("userEmail", a.Email, "otp", byEmail, "newPassword", newPassword), "")
		}, 201, userNameOrEmailDone},
	})
}
