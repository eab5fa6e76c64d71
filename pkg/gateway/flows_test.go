package gateway_test

import (
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
)

// Each family end to end: request, read the mail, reset; the new password
// verifies against the stored hash and the old one no longer does.
func TestFlowsEndToEnd(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const newPassword = "correct horse battery staple"

	cases := []struct {
		name  string
		reset func(t *testing.T, a apptest.Account) apptest.Response
	}{
		{"code-by-action API, /auth/otp", func(t *testing.T, a apptest.Account) apptest.Response {
			mustStatus(t, env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "create", "email": a.Email})), 200)
			code := env.LastCode(t, a.Email)
			return env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "validate", "email": a.Email, "otp": code, "new_password": newPassword}))
		}},
		{"code-by-action API, /{email}/reset-password", func(t *testing.T, a apptest.Account) apptest.Response {
			mustStatus(t, env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "create", "email": a.Email})), 200)
			code := env.LastCode(t, a.Email)
			return env.Post(t, "/"+a.Email+"/reset-password", apptest.JSON(map[string]string{"otp": code, "new_password": newPassword}))
		}},
		{"link API, token in body", func(t *testing.T, a apptest.Account) apptest.Response {
			mustStatus(t, env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200)
			token := env.LastToken(t, a.Email)
			return env.Post(t, "/auth/reset-password", apptest.JSON(map[string]string{"token": token, "new_password": newPassword}))
		}},
		{"link API, token in path", func(t *testing.T, a apptest.Account) apptest.Response {
			mustStatus(t, env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200)
			token := env.LastToken(t, a.Email)
			return env.Post(t, "/auth/reset-password/"+token, apptest.JSON(map[string]string{"new_password": newPassword}))
		}},
		{"minimal API", func(t *testing.T, a apptest.Account) apptest.Response {
			mustStatus(t, env.Post(t, "/generate-otp", apptest.JSON(map[string]string{"email": a.Email})), 200)
			code := env.LastCode(t, a.Email)
			return env.Post(t, "/reset-password", apptest.JSON(map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword}))
		}},
		{"user-name-or-email API by user name", func(t *testing.T, a apptest.Account) apptest.Response {
			mustStatus(t, env.Post(t, "/auth/forgot-password", apptest.JSON(map[string]string{"userName": a.Username})), 201)
			code := env.LastCode(t, a.Email)
			return env.Do(t, apptest.Request{Method: "PUT", Path: "/auth/forgot-password",
				Body: apptest.JSON(map[string]string{"userName": a.Username, "otp": code, "newPassword": newPassword})})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := env.AddAccount(t)
			before := env.Stored(t, a.ID).SessionVersion
			resp := c.reset(t, a)
			if resp.Status != 200 && resp.Status != 201 {
				t.Fatalf("reset: got %d %s, want success", resp.Status, resp.Body)
			}
			if !env.PasswordIs(t, a.ID, newPassword) {
				t.Error("the new password does not verify against the stored hash")
			}
			if env.PasswordIs(t, a.ID, a.Password) {
				t.Error("the old password still verifies")
			}
			if got := env.Stored(t, a.ID).SessionVersion; got != before+1 {
				t.Errorf("session_version: got %d, want %d", got, before+1)
			}
			mails := env.MailsTo(t, a.Email)
			if last := mails[len(mails)-1]; last.Subject != "Your Passreset Test password was changed" {
				t.Errorf("last mail: got subject %q, want the password-changed notice", last.Subject)
			}
		})
	}
}

func mustStatus(t *testing.T, r apptest.Response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("got %d %s, want %d", r.Status, r.Body, want)
	}
}
