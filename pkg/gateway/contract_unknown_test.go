package gateway_test

// The contract's shared rules that cut across the families: a request body
// that is not what it should be, and an unknown account answered exactly
// like a known one.

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
)

// bodyRoute is a route whose body is attacked through one field.
type bodyRoute struct {
	name   string
	method string
	path   func() string
	field  string // the field the variants attack
	rest   string // the route's other fields, as raw JSON ending in ","
	// value is what field holds in a good request: the victim's email or
	// user name, or "" for a field that names no account.
	value   func(a apptest.Account) string
	invalid string // the family's "invalid body"
	// malformed answers a value that is a string but no single address;
	// "" where field names no account.
	malformed string
}

// bodyVariant is one way a body can be wrong.
type bodyVariant struct {
	name string
	// body builds the request from the route's field, its other fields, the
	// victim's value and an attacker's address.
	body func(field, rest, victim, attacker string) string
	// headers and edit change the request beyond its body.
	headers map[string]string
	edit    func(*events.APIGatewayV2HTTPRequest)
	// malformed variants hold a string that is no single address: answered
	// with the route's malformed body, and only on fields that name an account.
	malformed bool
}

func good(field, rest, victim string) string {
	return "{" + rest + quoted(field) + ":" + quoted(victim) + "}"
}

func quoted(s string) string { return apptest.JSON(s) }

func withValue(field, rest, raw string) string { return "{" + rest + quoted(field) + ":" + raw + "}" }

var bodyVariants = []bodyVariant{
	{name: "not JSON", body: func(f, _, v, _ string) string { return f + "=" + url.QueryEscape(v) }},
	{name: "empty body", body: func(string, string, string, string) string { return "" }},
	{name: "truncated JSON", body: func(f, r, v, _ string) string { return strings.TrimSuffix(good(f, r, v), "}") }},
	{name: "Content-Type text/plain", body: func(f, r, v, _ string) string { return good(f, r, v) },
		headers: map[string]string{"Content-Type": "text/plain"}},
	{name: "Content-Type form", body: func(f, r, v, _ string) string { return good(f, r, v) },
		headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}},
	{name: "Content-Type missing", body: func(f, r, v, _ string) string { return good(f, r, v) },
		edit: func(ev *events.APIGatewayV2HTTPRequest) { delete(ev.Headers, "content-type") }},
	{name: "over 16 KiB", body: func(f, r, v, _ string) string {
		return withValue(f, `"pad":"`+strings.Repeat("x", 16<<10)+`",`+r, quoted(v))
	}},
	{name: "an array of two addresses", body: func(f, r, v, a string) string {
		return withValue(f, r, apptest.JSON([]string{v, a}))
	}},
	{name: "an object", body: func(f, r, _, _ string) string { return withValue(f, r, `{"$ne":null}`) }},
	{name: "a number", body: func(f, r, _, _ string) string { return withValue(f, r, `12345678`) }},
	{name: "a boolean", body: func(f, r, _, _ string) string { return withValue(f, r, `true`) }},
	{name: "duplicate key, victim first", body: func(f, r, v, a string) string {
		return withValue(f, r, quoted(v)+","+quoted(f)+":"+quoted(a))
	}},
	{name: "duplicate key, attacker first", body: func(f, r, v, a string) string {
		return withValue(f, r, quoted(a)+","+quoted(f)+":"+quoted(v))
	}},
	{name: "a top-level array", body: func(f, r, v, _ string) string { return "[" + good(f, r, v) + "]" }},
	{name: "a second object after the first", body: func(f, r, v, a string) string { return good(f, r, v) + good(f, r, a) }},
	{name: "two addresses with a comma", malformed: true, body: func(f, r, v, a string) string { return good(f, r, v+", "+a) }},
	{name: "two addresses with a semicolon", malformed: true, body: func(f, r, v, a string) string { return good(f, r, v+";"+a) }},
	{name: "CR/LF and a Bcc header", malformed: true, body: func(f, r, v, a string) string { return good(f, r, v+"\r\nBcc: "+a) }},
	{name: "LF", malformed: true, body: func(f, r, v, a string) string { return good(f, r, v+"\n"+a) }},
	{name: "a display name", malformed: true, body: func(f, r, v, _ string) string { return good(f, r, "Victim <"+v+">") }},
}

// Every invalid body gets the family's "invalid body" answer, a 400 and
// never a 500, and no mail goes to the victim or the attacker.
func TestContractInvalidBody(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "1000"})

	email := func(a apptest.Account) string { return a.Email }
	name := func(a apptest.Account) string { return a.Username }
	none := func(apptest.Account) string { return "" }
	fixed := func(p string) func() string { return func() string { return p } }
	pw := `"new_password":"` + newPassword + `",`
	routes := []bodyRoute{
		{"N create", "POST", fixed("/auth/otp"), "email", `"action":"create",`, email, codeByActionInvalidBody, codeByActionInvalidBody},
		{"N validate", "POST", fixed("/auth/otp"), "email", `"action":"validate","otp":"123456",` + pw, email, codeByActionInvalidBody, codeByActionInvalidBody},
		{"N email path", "POST", nil, "otp", pw, none, codeByActionInvalidBody, ""},
		{"L request", "POST", fixed("/auth/request-reset-password"), "email", "", email, linkInvalidBody, linkInvalidBody},
		{"L reset, token in body", "POST", fixed("/auth/reset-password"), "token", pw, none, linkInvalidBody, ""},
		{"L reset, token in path", "POST", func() string { return "/auth/reset-password/" + randHex(32) }, "new_password", "", none, linkInvalidBody, ""},
		{"0 generate", "POST", fixed("/generate-otp"), "email", "", email, minimalEmailRequired, minimalEmailRequired},
		{"0 reset", "POST", fixed("/reset-password"), "email", `"otp":"123456","newPassword":"` + newPassword + `",`, email, minimalRequired, minimalRequired},
		{"E POST by email", "POST", fixed("/auth/forgot-password"), "userEmail", "", email, userNameOrEmailNoName, userNameOrEmailInvalidEmail},
		{"E POST by user name", "POST", fixed("/auth/forgot-password"), "userName", "", name, userNameOrEmailNoName, userNameOrEmailInvalidName},
		{"E PUT by email", "PUT", fixed("/auth/forgot-password"), "userEmail", `"otp":"123456","newPassword":"` + newPassword + `",`, email, userNameOrEmailNoName, userNameOrEmailInvalidEmail},
	}
	// The variants of a route run one after another against one victim,
	// so a mail to the victim is laid at the variant that sent it.
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			t.Parallel()
			victim := newClient(t, env).account(t)
			for _, v := range bodyVariants {
				if v.malformed && rt.malformed == "" {
					continue
				}
				t.Run(v.name, func(t *testing.T) {
					c := newClient(t, env)
					c.learn(victim.Password)
					attacker := attackerEmail()
					path := "/" + encodedAt(victim.Email) + "/reset-password"
					if rt.path != nil {
						path = rt.path()
					}
					value := rt.value(victim)
					if value == "" {
						value = victim.Email
					}
					r := apptest.Request{Method: rt.method, Path: path, Body: v.body(rt.field, rt.rest, value, attacker), Headers: v.headers}
					want := rt.invalid
					if v.malformed {
						want = rt.malformed
					}
					expect(t, c.doEdited(t, r, v.edit), 400, want)
					wantMails(t, env, victim.Email, 0)
					wantMails(t, env, attacker, 0)
				})
			}
		})
	}

	// The email in the path of POST /{email}/reset-password.
	pathRows := []struct {
		name    string
		segment func(victim, attacker string) string
	}{
		{"two addresses with a comma", func(v, a string) string { return v + ", " + a }},
		{"CR/LF and a Bcc header", func(v, a string) string { return v + "\r\nBcc: " + a }},
		{"two @", func(v, a string) string { return v + "@" + a }},
	}
	for _, pr := range pathRows {
		t.Run("N email path/path: "+pr.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t, env)
			victim, attacker := c.account(t), attackerEmail()
			code := c.sendN(t, victim.Email)
			raw := pr.segment(victim.Email, attacker)
			r := c.post(t, "/"+url.PathEscape(raw)+"/reset-password", js("otp", code, "new_password", newPassword))
			expect(t, r, 400, codeByActionInvalidBody)
			wantPassword(t, env, victim, victim.Password)
			wantMails(t, env, attacker, 0)
		})
	}

	// A body of exactly 16 KiB is not too large.
	t.Run("L request/exactly 16 KiB", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		a := c.account(t)
		body := `{"email":` + quoted(a.Email) + `,"pad":""}`
		body = strings.Replace(body, `"pad":""`, `"pad":"`+strings.Repeat("x", 16<<10-len(body))+`"`, 1)
		if len(body) != 16<<10 {
			t.Fatalf("body is %d bytes, want %d", len(body), 16<<10)
		}
		expect(t, c.post(t, "/auth/request-reset-password", body), 200, linkSent)
		wantMails(t, env, a.Email, 1)
	})
}

// persona is an account as a caller names it: known, unknown, or known but
// not active.
type persona struct {
	name string
	add  func(t *testing.T, c *client) apptest.Account
	mail bool // whether the account is mailed
}

func personas() []persona {
	return []persona{
		{"known", func(t *testing.T, c *client) apptest.Account { return c.account(t) }, true},
		{"unknown", func(*testing.T, *client) apptest.Account {
			return apptest.Account{Email: unknownEmail(), Username: "nobody" + randHex(6)}
		}, false},
		{"unverified", func(t *testing.T, c *client) apptest.Account { return c.account(t, apptest.Unverified) }, false},
		{"disabled", func(t *testing.T, c *client) apptest.Account { return c.account(t, apptest.Disabled) }, false},
	}
}

// sameAnswers asserts that every persona got, step by step, exactly the
// answers the known account got: status, every header, and the body byte
// for byte.
func sameAnswers(t *testing.T, got map[string][]reply) {
	t.Helper()
	known := got["known"]
	for name, replies := range got {
		if len(replies) != len(known) {
			t.Errorf("%s: got %d answers, the known account %d", name, len(replies), len(known))
			continue
		}
		for i, r := range replies {
			k := known[i]
			if r.Status != k.Status || r.Body != k.Body || !reflect.DeepEqual(r.Headers, k.Headers) {
				t.Errorf("step %d, %s account: got %d %v %s, the known account got %d %v %s\n(%s)",
					i+1, name, r.Status, r.Headers, r.Body, k.Status, k.Headers, k.Body, r.request)
			}
		}
	}
}

// An unknown or inactive account is answered like a known one on every
// send route, through the same sends, including the 429 once the hourly
// limit (MAX_SENDS_PER_HOUR, 3) is spent; and on every guess route, with no
// code, with wrong codes, and once the code is dead.
func TestContractUnknownAccounts(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"MIN_SEND_INTERVAL": "0s"})

	type sendRoute struct {
		name     string
		send     func(t *testing.T, c *client, a apptest.Account) reply
		ok, over string
		okStatus int
	}
	sends := []sendRoute{
		{"N create", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/auth/otp", js("action", "create", "email", a.Email))
		}, codeByActionSent, codeByActionTooManyOTP, 200},
		{"0 generate", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/generate-otp", js("email", a.Email))
		}, minimalSent, minimalTooMany, 200},
		{"L request", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/auth/request-reset-password", js("email", a.Email))
		}, linkSent, linkTooMany, 200},
		{"E POST by email", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.forgot(t, js("userEmail", a.Email), "")
		}, userNameOrEmailSent, userNameOrEmailLimit, 201},
		{"E POST by user name", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.forgot(t, js("userName", a.Username), "")
		}, userNameOrEmailSent, userNameOrEmailLimit, 201},
	}
	for _, sr := range sends {
		t.Run("send/"+sr.name, func(t *testing.T) {
			t.Parallel()
			got := map[string][]reply{}
			for _, p := range personas() {
				c := newClient(t, env)
				a := p.add(t, c)
				for i := range 4 {
					r := sr.send(t, c, a)
					if i < 3 {
						expect(t, r, sr.okStatus, sr.ok)
					} else {
						expect(t, r, 429, sr.over)
					}
					got[p.name] = append(got[p.name], r)
				}
				want := 0
				if p.mail {
					want = 3
				}
				wantMails(t, env, a.Email, want)
			}
			sameAnswers(t, got)
		})
	}

	type guessRoute struct {
		name                string
		send                func(t *testing.T, c *client, a apptest.Account) reply
		guess               func(t *testing.T, c *client, a apptest.Account, code string) reply
		noCode, wrong, dead string
		noCodeStatus        int
		wrongStatus         int
	}
	sendN := func(t *testing.T, c *client, a apptest.Account) reply {
		return c.post(t, "/auth/otp", js("action", "create", "email", a.Email))
	}
	sendE := func(t *testing.T, c *client, a apptest.Account) reply {
		return c.forgot(t, js("userEmail", a.Email), "")
	}
	guesses := []guessRoute{
		{"N validate", sendN, func(t *testing.T, c *client, a apptest.Account, code string) reply {
			return c.post(t, "/auth/otp", js("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword))
		}, codeByActionInvalidOTP, codeByActionInvalidOTP, codeByActionTooManyAttempts, 400, 400},
		{"N email path", sendN, func(t *testing.T, c *client, a apptest.Account, code string) reply {
			return c.post(t, "/"+encodedAt(a.Email)+"/reset-password", js("otp", code, "new_password", newPassword))
		}, codeByActionNoOTP, codeByActionInvalidOTP, codeByActionTooManyAttempts, 404, 400},
		{"0 reset", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/generate-otp", js("email", a.Email))
		}, func(t *testing.T, c *client, a apptest.Account, code string) reply {
			return c.post(t, "/reset-password", js("email", a.Email, "otp", code, "newPassword", newPassword))
		}, minimalInvalidOTP, minimalInvalidOTP, minimalTooMany, 401, 401},
		{"E PUT by email", sendE, func(t *testing.T, c *client, a apptest.Account, code string) reply {
			return c.put(t, js("userEmail", a.Email, "otp", code, "newPassword", newPassword), "")
		}, userNameOrEmailInvalidOTP, userNameOrEmailInvalidOTP, userNameOrEmailLimit, 400, 400},
		{"E PUT by user name", func(t *testing.T, c *client, a apptest.Account) reply {
			return c.forgot(t, js("userName", a.Username), "")
		}, func(t *testing.T, c *client, a apptest.Account, code string) reply {
			return c.put(t, js("userName", a.Username, "otp", code, "newPassword", newPassword), "")
		}, userNameOrEmailInvalidOTP, userNameOrEmailInvalidOTP, userNameOrEmailLimit, 400, 400},
	}
	for _, gr := range guesses {
		t.Run("guess/"+gr.name, func(t *testing.T) {
			t.Parallel()
			got := map[string][]reply{}
			for _, p := range personas() {
				c := newClient(t, env)
				a := p.add(t, c)
				r := gr.guess(t, c, a, "123456")
				expect(t, r, gr.noCodeStatus, gr.noCode)
				got[p.name] = append(got[p.name], r)

				r = gr.send(t, c, a)
				got[p.name] = append(got[p.name], r)
				wrong := "123456"
				if p.mail {
					wrong = wrongCode(c.code(t, a.Email))
				}
				for range 5 {
					r := gr.guess(t, c, a, wrong)
					expect(t, r, gr.wrongStatus, gr.wrong)
					got[p.name] = append(got[p.name], r)
				}
				r = gr.guess(t, c, a, wrong)
				expect(t, r, 429, gr.dead)
				got[p.name] = append(got[p.name], r)
			}
			sameAnswers(t, got)
		})
	}
}
