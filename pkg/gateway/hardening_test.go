package gateway_test

// Findings of the security review, driven through the handler with the
// contract suite's client (contract_test.go): a device-bound code tried on
// the other code routes, escaped lone surrogates in a body, and the email
// of POST /{email}/reset-password behind a named stage or an API mapping.

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
)

// A code asked for with POST /auth/forgot-password is bound to the device
// that asked. Tried from another device on a route of another family, it is
// answered as that route's wrong code (docs/contract.md, user-name-or-email API's last
// paragraph), whether the code itself is right or wrong: never a 500, never
// an ERROR in the log, and the password stays.
func TestDeviceMismatchAnsweredAsWrongCodeOnOtherRoutes(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const asked, other = "phone/1.0 (asked for the code)", "laptop/2.0 (another device)"
	routes := []struct {
		name   string
		path   func(a apptest.Account) string
		body   func(a apptest.Account, code string) string
		status int
		body0  string // the route's wrong-code answer
	}{
		{"POST /auth/otp validate",
			func(apptest.Account) string { return "/auth/otp" },
			func(a apptest.Account, code string) string {
				return js("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword)
			},
			400, codeByActionInvalidOTP},
		{"POST /{email}/reset-password",
			func(a apptest.Account) string { return "/" + encodedAt(a.Email) + "/reset-password" },
			func(_ apptest.Account, code string) string { return js("otp", code, "new_password", newPassword) },
			400, codeByActionInvalidOTP},
		{"POST /reset-password",
			func(apptest.Account) string { return "/reset-password" },
			func(a apptest.Account, code string) string {
				return js("email", a.Email, "otp", code, "newPassword", newPassword)
			},
			401, minimalInvalidOTP},
	}
	guesses := []struct {
		name  string
		guess func(code string) string
	}{
		{"right code", func(code string) string { return code }},
		{"wrong code", wrongCode},
	}
	t.Run("routes", func(t *testing.T) {
		for _, rt := range routes {
			for _, g := range guesses {
				t.Run(rt.name+"/"+g.name, func(t *testing.T) {
					t.Parallel()
					c := newClient(t, env)
					a := c.account(t)
					must(t, c.forgot(t, js("userEmail", a.Email), asked), 201, userNameOrEmailSent)
					code := c.code(t, a.Email)
					r := c.do(t, apptest.Request{
						Path: rt.path(a), Body: rt.body(a, g.guess(code)),
						Headers: map[string]string{"User-Agent": other},
					})
					expect(t, r, rt.status, rt.body0)
					wantPassword(t, env, a, a.Password)
				})
			}
		}
	})
	// After every case above has run.
	for _, line := range strings.Split(env.Log.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("logged an ERROR: %s", line)
		}
	}
}

// encoding/json decodes an escaped lone surrogate to U+FFFD, so two bodies
// that differ only there would be read alike (two passwords stored as one).
// Every route that reads a body refuses one in any string, a key included,
// with its family's "invalid body"; a surrogate pair, and an escaped
// backslash followed by the text "ud800", are still read as they mean.
func TestLoneSurrogateRefused(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)

	// A body built from fields whose values are raw JSON string contents,
	// so that they can hold escapes.
	raw := func(kv ...string) string {
		fields := make([]string, 0, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			fields = append(fields, `"`+kv[i]+`":"`+kv[i+1]+`"`)
		}
		return "{" + strings.Join(fields, ",") + "}"
	}
	fixed := func(p string) func(apptest.Account) string { return func(apptest.Account) string { return p } }
	// Each route puts s into the string most at stake: the new password,
	// or what names the account.
	routes := []struct {
		name, method string
		path         func(a apptest.Account) string
		body         func(a apptest.Account, s string) string
		invalid      string
	}{
		{"N create", "POST", fixed("/auth/otp"), func(a apptest.Account, s string) string {
			return raw("action", "create", "email", a.Email+s)
		}, codeByActionInvalidBody},
		{"N validate", "POST", fixed("/auth/otp"), func(a apptest.Account, s string) string {
			return raw("action", "validate", "email", a.Email, "otp", "123456", "new_password", newPassword+s)
		}, codeByActionInvalidBody},
		{"N email path", "POST", func(a apptest.Account) string { return "/" + encodedAt(a.Email) + "/reset-password" }, func(_ apptest.Account, s string) string {
			return raw("otp", "123456", "new_password", newPassword+s)
		}, codeByActionInvalidBody},
		{"L request", "POST", fixed("/auth/request-reset-password"), func(a apptest.Account, s string) string {
			return raw("email", a.Email+s)
		}, linkInvalidBody},
		{"L reset, token in body", "POST", fixed("/auth/reset-password"), func(_ apptest.Account, s string) string {
			return raw("token", strings.Repeat("ab", 32), "new_password", newPassword+s)
		}, linkInvalidBody},
		{"L reset, token in path", "POST", func(apptest.Account) string { return "/auth/reset-password/" + randHex(32) }, func(_ apptest.Account, s string) string {
			return raw("new_password", newPassword+s)
		}, linkInvalidBody},
		{"0 generate", "POST", fixed("/generate-otp"), func(a apptest.Account, s string) string {
			return raw("email", a.Email+s)
		}, minimalEmailRequired},
		{"0 reset", "POST", fixed("/reset-password"), func(a apptest.Account, s string) string {
			return raw("email", a.Email, "otp", "123456", "newPassword", newPassword+s)
		}, minimalRequired},
		{"E POST by email", "POST", fixed("/auth/forgot-password"), func(a apptest.Account, s string) string {
			return raw("userEmail", a.Email+s)
		}, userNameOrEmailNoName},
		{"E POST by user name", "POST", fixed("/auth/forgot-password"), func(a apptest.Account, s string) string {
			return raw("userName", a.Username+s)
		}, userNameOrEmailNoName},
		{"E PUT", "PUT", fixed("/auth/forgot-password"), func(a apptest.Account, s string) string {
			return raw("userName", a.Username, "otp", "123456", "newPassword", newPassword+s)
		}, userNameOrEmailNoName},
	}
	lone := []struct{ name, s string }{
		{"high surrogate", `\ud800`},
		{"high surrogate, upper case", `\uDBFF`},
		{"low surrogate", `\udc00`},
		{"high surrogate, then a letter", `\ud83dx`},
		{"high surrogate, then another escape", `\ud83d\u0041`},
		{"two high surrogates", `\ud83d\ud83d`},
		{"low surrogate, then high", `\ude00\ud83d`},
		{"high surrogate, then an escaped backslash and udc00", `\ud800\\udc00`},
		{"an escaped backslash, then a high surrogate", `\\\ud800`},
	}
	// Where in the body the lone surrogate is: the route's own field, a
	// field the route does not read, or a key.
	places := []struct {
		name string
		put  func(body, s string) string
	}{
		{"in the field", func(body, _ string) string { return body }},
		{"in another field", func(body, s string) string { return `{"pad":"x` + s + `",` + body[1:] }},
		{"in a key", func(body, s string) string { return `{"x` + s + `":"pad",` + body[1:] }},
	}
	t.Run("lone", func(t *testing.T) {
		for _, rt := range routes {
			t.Run(rt.name, func(t *testing.T) {
				t.Parallel()
				victim := newClient(t, env).account(t)
				for _, l := range lone {
					for _, p := range places {
						t.Run(l.name+"/"+p.name, func(t *testing.T) {
							c := newClient(t, env)
							s := l.s
							if p.name != "in the field" {
								s = ""
							}
							body := p.put(rt.body(victim, s), l.s)
							expect(t, c.do(t, apptest.Request{Method: rt.method, Path: rt.path(victim), Body: body}), 400, rt.invalid)
						})
					}
				}
				wantMails(t, env, victim.Email, 0)
				wantPassword(t, env, victim, victim.Password)
			})
		}
	})

	// What is not a lone surrogate is read as it means.
	t.Run("surrogate pair in the password", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		a := c.account(t)
		code := c.send0(t, a.Email)
		must(t, c.post(t, "/reset-password", raw("email", a.Email, "otp", code, "newPassword", newPassword+` \ud83d\ude00`)), 200, minimalDone)
		wantPassword(t, env, a, newPassword+" \U0001F600")
	})
	t.Run("escaped backslash and ud800 in the password", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		a := c.account(t)
		code := c.sendN(t, a.Email)
		must(t, c.post(t, "/auth/otp", raw("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword+` \\ud800`)), 200, codeByActionReset)
		wantPassword(t, env, a, newPassword+` \ud800`)
	})
	t.Run("surrogate pair in another field and a key", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		a := c.account(t)
		body := `{"pad":"\ud83d\ude00","\uD83D\uDE00":"pad",` + raw("email", a.Email)[1:]
		must(t, c.post(t, "/generate-otp", body), 200, minimalSent)
		wantMails(t, env, a.Email, 1)
	})
}

// POST /{email}/reset-password reads the email from the route's path
// parameter, which API Gateway fills URL-decoded once, not from rawPath:
// behind a named stage rawPath starts with the stage's name, and behind a
// custom domain's API mapping with the mapping's path.
func TestPathEmailBehindStageAndMapping(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	cases := []struct {
		name   string
		prefix string // what rawPath holds before the route's own path
		stage  string
		// segment writes the email as the client put it in the path.
		segment func(email string) string
	}{
		{"named stage", "/prod", "prod", encodedAt},
		{"custom domain API mapping", "/api/v1", "$default", encodedAt},
		{"custom domain API mapping to a named stage", "/api/v1", "prod", encodedAt},
		{"named stage, @ not encoded", "/prod", "prod", func(e string) string { return e }},
	}
	// edit moves the event behind the case's stage or mapping. The path
	// parameters stay as API Gateway gives them: the route's {email},
	// decoded once.
	edit := func(prefix, stage string) func(*events.APIGatewayV2HTTPRequest) {
		return func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RawPath = prefix + ev.RawPath
			ev.RequestContext.HTTP.Path = prefix + ev.RequestContext.HTTP.Path
			ev.RequestContext.Stage = stage
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, env)
			a := c.account(t)
			code := c.sendN(t, a.Email)
			r := apptest.Request{Path: "/" + tc.segment(a.Email) + "/reset-password", Body: js("otp", code, "new_password", newPassword)}
			if got := env.Event(t, r).PathParameters["email"]; got != a.Email {
				t.Fatalf("pathParameters.email = %q; want %q, as API Gateway gives it", got, a.Email)
			}
			must(t, c.doEdited(t, r, edit(tc.prefix, tc.stage)), 200, codeByActionReset)
			wantPassword(t, env, a, newPassword)
		})
	}

	// A double-encoded "@" (%2540) is decoded once, by API Gateway, and
	// never again: "%40" is no email.
	t.Run("named stage, double-encoded @", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		a := c.account(t)
		code := c.sendN(t, a.Email)
		r := apptest.Request{Path: "/" + strings.Replace(a.Email, "@", "%2540", 1) + "/reset-password", Body: js("otp", code, "new_password", newPassword)}
		if got, want := env.Event(t, r).PathParameters["email"], strings.Replace(a.Email, "@", "%40", 1); got != want {
			t.Fatalf("pathParameters.email = %q; want %q", got, want)
		}
		expect(t, c.doEdited(t, r, edit("/prod", "prod")), 400, codeByActionInvalidBody)
		wantPassword(t, env, a, a.Password)
	})
	// The path parameter is what names the account, never rawPath: an
	// event without it is refused, whatever rawPath holds.
	t.Run("no path parameter", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		a := c.account(t)
		code := c.sendN(t, a.Email)
		r := apptest.Request{Path: "/" + encodedAt(a.Email) + "/reset-password", Body: js("otp", code, "new_password", newPassword)}
		expect(t, c.doEdited(t, r, func(ev *events.APIGatewayV2HTTPRequest) { ev.PathParameters = nil }), 400, codeByActionInvalidBody)
		wantPassword(t, env, a, a.Password)
	})
}
