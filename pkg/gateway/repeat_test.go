package gateway_test

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/apptest"
)

// Safe to retry: a completion repeated after its success (a client that
// timed out) with the same code, link or grant and the same new password
// gets the same answer within two minutes, and moves nothing: no counter,
// no mail, no password change. Anything else about a used one stays
// refused. For every completion route.

// repeatRoute is one completion route: arrange makes a fresh secret for a
// and returns the request body for a new password; refused is its answer
// for a used secret.
type repeatRoute struct {
	name    string
	path    func(secret string) string
	arrange func(t *testing.T, env *apptest.Env, a apptest.Account) (secret string)
	body    func(a apptest.Account, secret, pw string) string
	refused string
	status  int // of refused; 400 when 0
}

var repeatRoutes = []repeatRoute{
	{
		name:    "code, /auth/otp validate",
		path:    func(string) string { return "/auth/otp" },
		arrange: func(t *testing.T, env *apptest.Env, a apptest.Account) string { return codeFor(t, env, a) },
		body:    func(a apptest.Account, code, pw string) string { return validate(a.Email, code, pw) },
		refused: msgInvalidOTP,
	},
	{
		name:    "code, /{email}/reset-password",
		path:    func(string) string { return "/{email}/reset-password" },
		arrange: func(t *testing.T, env *apptest.Env, a apptest.Account) string { return codeFor(t, env, a) },
		body: func(a apptest.Account, code, pw string) string {
			return apptest.JSON(map[string]string{"otp": code, "new_password": pw})
		},
		refused: "No OTP found. Please request a new OTP.", status: 404,
	},
	{
		name:    "link, token in the body",
		path:    func(string) string { return "/auth/reset-password" },
		arrange: linkFor,
		body:    func(_ apptest.Account, token, pw string) string { return linkReset(token, pw) },
		refused: msgInvalidToken,
	},
	{
		name:    "link, token in the path",
		path:    func(token string) string { return "/auth/reset-password/" + token },
		arrange: linkFor,
		body: func(_ apptest.Account, _, pw string) string {
			return apptest.JSON(map[string]string{"new_password": pw})
		},
		refused: msgInvalidToken,
	},
	{
		name:    "grant, /auth/otp complete",
		path:    func(string) string { return "/auth/otp" },
		arrange: grantFor,
		body:    func(_ apptest.Account, grant, pw string) string { return complete(grant, pw) },
		refused: msgInvalidOTP,
	},
}

func codeFor(t *testing.T, env *apptest.Env, a apptest.Account) string {
	t.Helper()
	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	return env.LastCode(t, a.Email)
}

func linkFor(t *testing.T, env *apptest.Env, a apptest.Account) string {
	t.Helper()
	want(t, "link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200, "")
	return env.LastToken(t, a.Email)
}

// tokensState is the tokens table but its per-IP counters (a repeat is a
// request, and counts as one), in a comparable form.
func tokensState(t *testing.T, env *apptest.Env) []string {
	t.Helper()
	var out []string
	for _, it := range faultItems(t, env) {
		if strings.HasPrefix(faultStr(it, "pk"), "ip#") {
			continue
		}
		keys := make([]string, 0, len(it))
		for k := range it {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s;", k, attrString(it[k]))
		}
		out = append(out, b.String())
	}
	sort.Strings(out)
	return out
}

func attrString(v types.AttributeValue) string {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberBOOL:
		return fmt.Sprint("BOOL:", v.Value)
	default:
		return fmt.Sprintf("%T", v)
	}
}

func TestRepeatedCompletion(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.WithSessions(apptest.Settings{"IP_LIMIT": "100000"}))
	const pw, other = "the new password, once", "another new password"
	for _, route := range repeatRoutes {
		t.Run(route.name, func(t *testing.T) {
			post := func(a apptest.Account, secret, pw string) apptest.Response {
				path := strings.ReplaceAll(route.path(secret), "{email}", a.Email)
				return env.Post(t, path, route.body(a, secret, pw))
			}
			a := env.AddAccount(t)
			env.AddSessions(t, a.ID, 1)
			secret := route.arrange(t, env, a)
			first := post(a, secret, pw)
			if first.Status != 200 {
				t.Fatalf("first: got %d %s, want 200", first.Status, first.Body)
			}
			env.Clock.Advance(time.Minute) // a client's timeout and retry
			table, mails, version := tokensState(t, env), len(env.MailsTo(t, a.Email)), env.Stored(t, a.ID).SessionVersion
			env.AddSessions(t, a.ID, 1) // signed in again with the new password
			env.Metrics.Take()

			again := post(a, secret, pw)
			if again.Status != first.Status || again.Body != first.Body || !reflect.DeepEqual(again.Headers, first.Headers) {
				t.Errorf("repeat: got %d %v %s, want the first answer %d %v %s", again.Status, again.Headers, again.Body, first.Status, first.Headers, first.Body)
			}
			if got := tokensState(t, env); !reflect.DeepEqual(got, table) {
				t.Errorf("the repeat changed the tokens table:\n got %v\nwant %v", got, table)
			}
			if got := len(env.MailsTo(t, a.Email)); got != mails {
				t.Errorf("mails: got %d after the repeat, want %d", got, mails)
			}
			if got := env.Stored(t, a.ID).SessionVersion; got != version {
				t.Errorf("session_version: got %d after the repeat, want %d", got, version)
			}
			if got := env.SessionsOf(t, a.ID); got != 1 {
				t.Errorf("sessions: got %d after the repeat, want 1 (none ended)", got)
			}
			if m := env.Metrics.Take(); strings.Contains(strings.Join(m, "\n"), "ResetCompleted") {
				t.Errorf("the repeat was counted as a completed reset: %v", m)
			}
			if !env.PasswordIs(t, a.ID, pw) {
				t.Error("the password is not the first request's")
			}

			status := route.status
			if status == 0 {
				status = 400
			}
			want(t, "another password", post(a, secret, other), status, route.refused)
			env.Clock.Advance(time.Minute - time.Second)
			want(t, "a second before the window ends", post(a, secret, pw), 200, "")
			env.Clock.Advance(time.Second)
			want(t, "two minutes after", post(a, secret, pw), status, route.refused)
			if !env.PasswordIs(t, a.ID, pw) {
				t.Error("the password changed")
			}
		})
	}
}

// The one-step routes of the other families repeat alike: their success.
func TestRepeatedCompletionOtherFamilies(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const pw = "the new password, once"
	a := env.AddAccount(t)
	want(t, "create", env.Post(t, "/generate-otp", apptest.JSON(map[string]string{"email": a.Email})), 200, "")
	body := apptest.JSON(map[string]string{"email": a.Email, "otp": env.LastCode(t, a.Email), "newPassword": pw})
	first := env.Post(t, "/reset-password", body)
	want(t, "reset", first, 200, "")
	if again := env.Post(t, "/reset-password", body); again.Status != 200 || again.Body != first.Body {
		t.Errorf("repeat: got %d %s, want %s", again.Status, again.Body, first.Body)
	}
	b := env.AddAccount(t)
	want(t, "create", env.Post(t, "/auth/forgot-password", apptest.JSON(map[string]string{"userName": b.Username})), 201, "")
	body = apptest.JSON(map[string]string{"userName": b.Username, "otp": env.LastCode(t, b.Email), "newPassword": pw})
	put := func() apptest.Response {
		return env.Do(t, apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Body: body})
	}
	first = put()
	want(t, "reset", first, 201, "")
	if again := put(); again.Status != 201 || again.Body != first.Body {
		t.Errorf("repeat: got %d %s, want %s", again.Status, again.Body, first.Body)
	}
}
