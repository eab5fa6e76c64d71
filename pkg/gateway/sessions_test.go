package gateway_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
)

// Ending the account's sessions after a reset, with a sessions table
// configured (SESSIONS_TABLE): through the handler, on DynamoDB Local.

const sessionsNewPassword = "sessions-test: a fine new password"

// sessionResets are the two ways to complete a reset, each arranged from
// a fresh account: the request that completes it.
var sessionResets = []struct {
	name string
	// arrange returns the request's path and body, and the code or token
	// it carries.
	arrange func(t *testing.T, env *apptest.Env, a apptest.Account) (path, body, secret string)
}{
	{"code", func(t *testing.T, env *apptest.Env, a apptest.Account) (string, string, string) {
		if r := env.Post(t, "/auth/otp", createCode(a.Email)); r.Status != 200 {
			t.Fatalf("create code: %d %s", r.Status, r.Body)
		}
		code := env.LastCode(t, a.Email)
		return "/auth/otp", validate(a.Email, code, sessionsNewPassword), code
	}},
	{"link", func(t *testing.T, env *apptest.Env, a apptest.Account) (string, string, string) {
		if r := env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
			t.Fatalf("request link: %d %s", r.Status, r.Body)
		}
		token := env.LastToken(t, a.Email)
		return "/auth/reset-password", linkReset(token, sessionsNewPassword), token
	}},
}

// sessionCalls are the calls that end an account's sessions on the
// back-end under test, each as Calls names it: a Query of the account index
// and a BatchWriteItem of the sessions table, or the hook's end-sessions.
func sessionCalls(t *testing.T) []string {
	switch apptest.Backend(t) {
	case apptest.BackendWebhook:
		return []string{apptest.HookEndSessions}
	case apptest.BackendCognito:
		// Global sign-out, answered by apptest's stand-in (cognito-local
		// lacks it), which ends the sessions AddSessions recorded.
		return []string{cognitoSignOut}
	}
	return []string{"DynamoDB.Query", "DynamoDB.BatchWriteItem"}
}

// cognitoSignOut is Cognito's global sign-out as Calls names it.
const cognitoSignOut = "Cognito Identity Provider.AdminUserGlobalSignOut"

// sessionCallCounts is how many of each of sessionCalls env made.
func sessionCallCounts(t *testing.T, env *apptest.Env) []int {
	var n []int
	for _, op := range sessionCalls(t) {
		n = append(n, env.Calls.Count(op))
	}
	return n
}

// TestResetEndsSessions: a completed reset deletes every session of the
// account and of no other account, with one Query of the account index and
// one BatchWriteItem for up to 25 sessions; a refused one touches none.
func TestResetEndsSessions(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithSessions(apptest.Settings{"IP_LIMIT": "1000"}))
	for _, tt := range sessionResets {
		t.Run(tt.name, func(t *testing.T) {
			a, other := env.AddAccount(t), env.AddAccount(t)
			env.AddSessions(t, a.ID, 3)
			env.AddSessions(t, other.ID, 2)
			path, body, _ := tt.arrange(t, env, a)

			env.Calls.Reset()
			if r := env.Post(t, path, body); r.Status != 200 {
				t.Fatalf("reset: got %d %s, want 200", r.Status, r.Body)
			}
			if n := env.SessionsOf(t, a.ID); n != 0 {
				t.Errorf("the account's sessions after the reset: %d, want 0", n)
			}
			if n := env.SessionsOf(t, other.ID); n != 2 {
				t.Errorf("another account's sessions: %d, want its 2 untouched", n)
			}
			if got := sessionCallCounts(t, env); slices.ContainsFunc(got, func(n int) bool { return n != 1 }) {
				t.Errorf("calls: %d of %v; want one of each (calls %v)", got, sessionCalls(t), env.Calls.Order())
			}
			if !env.PasswordIs(t, a.ID, sessionsNewPassword) {
				t.Error("the new password was not set")
			}
		})
	}
	t.Run("refused reset", func(t *testing.T) {
		a := env.AddAccount(t)
		env.AddSessions(t, a.ID, 2)
		env.Post(t, "/auth/otp", createCode(a.Email))
		code := env.LastCode(t, a.Email)
		env.Calls.Reset()
		if r := env.Post(t, "/auth/otp", validate(a.Email, wrong(code), sessionsNewPassword)); r.Status != 400 {
			t.Fatalf("wrong guess: got %d %s, want 400", r.Status, r.Body)
		}
		if n := env.SessionsOf(t, a.ID); n != 2 {
			t.Errorf("sessions after a wrong guess: %d, want 2", n)
		}
		if got := sessionCallCounts(t, env); slices.ContainsFunc(got, func(n int) bool { return n != 0 }) {
			t.Errorf("a wrong guess made %d of %v; want none", got, sessionCalls(t))
		}
	})
}

// TestSessionsUnknownAccountsUnchanged: with a sessions table, a guess at
// an unknown account's decoy makes exactly the calls of a wrong guess at a
// known account's code, as without one: no completed reset, no sessions.
func TestSessionsUnknownAccountsUnchanged(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithSessions(apptest.Settings{"IP_LIMIT": "1000"}))
	known := env.AddAccount(t)
	env.AddSessions(t, known.ID, 1)
	const nobody = "nobody-sessions@example.test"
	env.Post(t, "/auth/otp", createCode(known.Email))
	env.Post(t, "/auth/otp", createCode(nobody))
	code := env.LastCode(t, known.Email)

	env.Calls.Reset()
	env.Post(t, "/auth/otp", validate(known.Email, wrong(code), sessionsNewPassword))
	want := env.Calls.Order()
	env.Calls.Reset()
	env.Post(t, "/auth/otp", validate(nobody, code, sessionsNewPassword))
	if got := env.Calls.Order(); !slices.Equal(got, want) {
		t.Errorf("unknown account: calls %v, want a known account's %v", got, want)
	}
	for _, op := range sessionCalls(t) {
		if slices.Contains(want, op) {
			t.Errorf("a wrong guess reached the sessions (%s): %v", op, want)
		}
	}
}

// TestSessionsTableDown: a sessions table that fails after the password
// changed leaves the reset done and answered 200, the sessions where they
// were, a log line without a secret, and one SessionRevocationFailed.
func TestSessionsTableDown(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithSessions(apptest.Settings{"IP_LIMIT": "1000"}))
	for i, tt := range sessionResets {
		// The code reset fails at the deletes, the link reset at the
		// Query: the reset flows make no other call of either.
		// Behind the hook, its one end-sessions call fails.
		op := []string{"DynamoDB.BatchWriteItem", "DynamoDB.Query"}[i]
		switch apptest.Backend(t) {
		case apptest.BackendWebhook:
			op = apptest.HookEndSessions
		case apptest.BackendCognito:
			op = cognitoSignOut
		}
		t.Run(tt.name+", "+op+" fails", func(t *testing.T) {
			a := env.AddAccount(t)
			env.AddSessions(t, a.ID, 2)
			path, body, secret := tt.arrange(t, env, a)
			env.Calls.FailWith(func(got string, _ int) error {
				if got == op {
					return faultError
				}
				return nil
			})
			env.Metrics.Take()
			r := env.Post(t, path, body)
			env.Calls.FailWith(nil)
			if r.Status != 200 {
				t.Fatalf("reset with %s failing: got %d %s, want 200: the password is changed", op, r.Status, r.Body)
			}
			if !env.PasswordIs(t, a.ID, sessionsNewPassword) {
				t.Error("the new password was not set")
			}
			if n := env.SessionsOf(t, a.ID); n != 2 {
				t.Errorf("sessions: %d, want the 2 the failure left", n)
			}
			lines := strings.Join(env.Metrics.Take(), "")
			if strings.Count(lines, `"SessionRevocationFailed":1`) != 1 {
				t.Errorf("metrics %s, want SessionRevocationFailed once", lines)
			}
			log := env.Log.String()
			if !strings.Contains(log, "end sessions after reset") || !strings.Contains(log, faultLogged(t)) {
				t.Errorf("log lacks the failed revocation:\n%s", log)
			}
			for _, s := range []string{a.Email, sessionsNewPassword, secret} {
				if strings.Contains(log, s) {
					t.Errorf("the log holds %q", s)
				}
			}
		})
	}
}
