package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
)

// TestThirtyParallelResets: thirty resets with the same right code, or the
// same link, fired at once. Exactly one succeeds, the password is the
// winner's, session_version moved once, and one password-changed mail went
// out: a code or a link works once however many requests race.
func TestThirtyParallelResets(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	const n = 30
	cases := []struct {
		name  string
		fresh func(a apptest.Account) func(pw string) apptest.Request
	}{
		{"the same code", func(a apptest.Account) func(string) apptest.Request {
			want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
			code := env.LastCode(t, a.Email)
			return func(pw string) apptest.Request {
				return apptest.Request{Method: "POST", Path: "/auth/otp", Body: validate(a.Email, code, pw)}
			}
		}},
		{"the same link", func(a apptest.Account) func(string) apptest.Request {
			want(t, "request link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200, "")
			token := env.LastToken(t, a.Email)
			return func(pw string) apptest.Request {
				return apptest.Request{Method: "POST", Path: "/auth/reset-password/" + token,
					Body: apptest.JSON(map[string]string{"new_password": pw})}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := env.AddAccount(t)
			request := c.fresh(a)
			reqs := make([]apptest.Request, n)
			for i := range reqs {
				reqs[i] = request(fmt.Sprintf("parallel password %02d", i))
			}
			winner := -1
			for i, r := range fire(t, env, reqs) {
				switch {
				case r.StatusCode == 200:
					if winner >= 0 {
						t.Errorf("a second success: requests %d and %d", winner, i)
					}
					winner = i
				case r.StatusCode == 400, r.StatusCode == 429:
				default:
					t.Errorf("request %d: got %d %s, want 200 once and 400 or 429 otherwise", i, r.StatusCode, r.Body)
				}
			}
			if winner < 0 {
				t.Fatal("no request succeeded")
			}
			if !env.PasswordIs(t, a.ID, fmt.Sprintf("parallel password %02d", winner)) {
				t.Error("the stored password is not the winner's")
			}
			if got := env.Stored(t, a.ID).SessionVersion; got != 1 {
				t.Errorf("session_version: got %d, want 1", got)
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
