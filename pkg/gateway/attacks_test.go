package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
)

// sendRoute is a route that mails, and how to put an email into its body.
type sendRoute struct {
	method, path, field string
	extra               string // other fields, JSON, with a trailing comma
}

var sendRoutes = []sendRoute{
	{"POST", "/auth/otp", "email", `"action":"create",`},
	{"POST", "/generate-otp", "email", ``},
	{"POST", "/auth/request-reset-password", "email", ``},
	{"POST", "/auth/forgot-password", "userEmail", ``},
}

// Two recipients in one field, CR/LF, duplicate keys: 400, no mail at all.
func TestEmailInjection(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	for _, route := range sendRoutes {
		t.Run(route.path, func(t *testing.T) {
			victim := env.AddAccount(t)
			attacker := "attacker-" + strings.TrimPrefix(victim.ID, "u-") + "@evil.test"
			v, a := victim.Email, attacker
			field := func(raw string) string { return fmt.Sprintf(`{%s%q:%s}`, route.extra, route.field, raw) }
			cases := map[string]string{
				"array":                         field(fmt.Sprintf(`[%q,%q]`, v, a)),
				"comma list":                    field(fmt.Sprintf(`%q`, v+", "+a)),
				"semicolon list":                field(fmt.Sprintf(`%q`, v+";"+a)),
				"space list":                    field(fmt.Sprintf(`%q`, v+" "+a)),
				"CRLF Bcc":                      field(fmt.Sprintf(`%q`, v+"\r\nBcc: "+a)),
				"LF Bcc":                        field(fmt.Sprintf(`%q`, v+"\nBcc: "+a)),
				"duplicate key":                 fmt.Sprintf(`{%s%q:%q,%q:%q}`, route.extra, route.field, v, route.field, a),
				"duplicate key, attacker first": fmt.Sprintf(`{%s%q:%q,%q:%q}`, route.extra, route.field, a, route.field, v),
				"object":                        field(fmt.Sprintf(`{"$ne":null,"to":%q}`, a)),
			}
			for name, body := range cases {
				r := env.Do(t, apptest.Request{Method: route.method, Path: route.path, Body: body})
				if r.Status != 400 {
					t.Errorf("%s %s: got %d %s, want 400", name, body, r.Status, r.Body)
				}
			}
			for _, addr := range []string{v, a} {
				if got := env.MailsTo(t, addr); len(got) != 0 {
					t.Errorf("mails to %s: got %d (to %v), want none", addr, len(got), got[0].To)
				}
			}
		})
	}
}

// The submitted email is a lookup key; the recipient is the stored address.
func TestMailGoesToStoredAddress(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"IP_LIMIT": "100000"})
	for _, route := range sendRoutes {
		t.Run(route.path, func(t *testing.T) {
			a := env.AddAccount(t)
			submitted := "  " + strings.ToUpper(a.Email) + " "
			r := env.Do(t, apptest.Request{Method: route.method, Path: route.path,
				Body: fmt.Sprintf(`{%s%q:%q}`, route.extra, route.field, submitted)})
			if r.Status != 200 && r.Status != 201 {
				t.Fatalf("send with %q: got %d %s, want success", submitted, r.Status, r.Body)
			}
			mails := env.MailsTo(t, a.Email)
			if len(mails) != 1 {
				t.Fatalf("mails: got %d, want 1", len(mails))
			}
			if to := mails[0].To; len(to) != 1 || to[0] != a.Email {
				t.Errorf("To: got %q, want exactly [%q]", to, a.Email)
			}
		})
	}
}

// The link is built from RESET_URL, never from Host or forwarding headers.
func TestLinkIgnoresHostHeaders(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	prefix := strings.TrimSuffix(apptest.ResetURL, "{token}")
	for name, h := range map[string]map[string]string{
		"Host":             {"Host": "evil.test"},
		"X-Forwarded-Host": {"X-Forwarded-Host": "evil.test", "X-Forwarded-Proto": "http"},
		"Forwarded":        {"Forwarded": "host=evil.test;proto=http"},
		"all":              {"Host": "evil.test", "X-Forwarded-Host": "evil.test", "Forwarded": "host=evil.test"},
	} {
		t.Run(name, func(t *testing.T) {
			a := env.AddAccount(t)
			want(t, "request link", env.Do(t, apptest.Request{Method: "POST", Path: "/auth/request-reset-password",
				Body: apptest.JSON(map[string]string{"email": a.Email}), Headers: h}), 200, "")
			mails := env.MailsTo(t, a.Email)
			if len(mails) != 1 {
				t.Fatalf("mails: got %d, want 1", len(mails))
			}
			m := mails[0]
			if !strings.Contains(m.Text, prefix) || strings.Contains(m.Text+m.HTML, "evil.test") {
				t.Errorf("mail text: got %q, want a link starting with %q and no evil.test", m.Text, prefix)
			}
			_ = env.LastToken(t, a.Email) // the link has RESET_URL's prefix and a token
		})
	}
}

// A code in another type or another script is never a success.
func TestCodeShapes(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, apptest.Settings{"MIN_SEND_INTERVAL": "0s", "MAX_SENDS_PER_HOUR": "1000", "IP_LIMIT": "100000", "MAX_FAILURES_PER_DAY": "10000"})
	a := env.AddAccount(t)
	const pw = "a new and long password"
	toDigits := func(code string, zero rune) string {
		var b strings.Builder
		for _, c := range code {
			b.WriteRune(zero + (c - '0'))
		}
		return b.String()
	}
	cases := []struct {
		name string
		otp  func(code string) string // the raw JSON value
	}{
		{"number", func(c string) string { return strings.TrimLeft(c, "0") + "" }},
		{"array", func(c string) string { return fmt.Sprintf("[%q]", c) }},
		{"$ne", func(string) string { return `{"$ne": null}` }},
		{"$gt", func(string) string { return `{"$gt": ""}` }},
		{"empty", func(string) string { return `""` }},
		{"true", func(string) string { return `true` }},
		{"padded", func(c string) string { return fmt.Sprintf("%q", " "+c+" ") }},
		{"tab padded", func(c string) string { return fmt.Sprintf("%q", "\t"+c) }},
		{"fullwidth", func(c string) string { return fmt.Sprintf("%q", toDigits(c, '０')) }},
		{"arabic-indic", func(c string) string { return fmt.Sprintf("%q", toDigits(c, '٠')) }},
		{"extended arabic-indic", func(c string) string { return fmt.Sprintf("%q", toDigits(c, '۰')) }},
		{"trailing NUL", func(c string) string { return fmt.Sprintf("%q", c+"\x00") }},
		{"longer", func(c string) string { return fmt.Sprintf("%q", c+"0") }},
	}
	for _, route := range []string{"/auth/otp", "/{email}/reset-password"} {
		for _, c := range cases {
			want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
			code := env.LastCode(t, a.Email)
			var r apptest.Response
			if route == "/auth/otp" {
				r = env.Post(t, route, fmt.Sprintf(`{"action":"validate","email":%q,"otp":%s,"new_password":%q}`, a.Email, c.otp(code), pw))
			} else {
				r = env.Post(t, "/"+a.Email+"/reset-password", fmt.Sprintf(`{"otp":%s,"new_password":%q}`, c.otp(code), pw))
			}
			if r.Status != 400 {
				t.Errorf("%s, otp %s: got %d %s, want 400", route, c.otp(code), r.Status, r.Body)
			}
		}
	}
	// One check for all cases: argon2id under -race is too slow to repeat.
	if !env.PasswordIs(t, a.ID, a.Password) {
		t.Fatal("the password changed")
	}
	// The right code still works: the shapes above were compared against a live code.
	want(t, "create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
	want(t, "right code", env.Post(t, "/auth/otp", validate(a.Email, env.LastCode(t, a.Email), pw)), 200, "")
}

// A secret of one account or kind is refused on another.
func TestCrossUse(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	const pw = "a new and long password"

	t.Run("code of A with the email of B", func(t *testing.T) {
		a, b := env.AddAccount(t), env.AddAccount(t)
		want(t, "A create", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		want(t, "B create", env.Post(t, "/auth/otp", createCode(b.Email)), 200, "")
		codeA, codeB := env.LastCode(t, a.Email), env.LastCode(t, b.Email)
		if codeA == codeB {
			t.Skip("the two codes are equal by chance")
		}
		want(t, "A's code on B", env.Post(t, "/auth/otp", validate(b.Email, codeA, pw)), 400, msgInvalidOTP)
		want(t, "A's code on B, by path", env.Post(t, "/"+b.Email+"/reset-password", apptest.JSON(map[string]string{"otp": codeA, "new_password": pw})), 400, msgInvalidOTP)
		want(t, "A's code on B, minimal API", env.Post(t, "/reset-password", apptest.JSON(map[string]string{"email": b.Email, "otp": codeA, "newPassword": pw})), 401, "Invalid OTP")
		if !env.PasswordIs(t, b.ID, b.Password) || !env.PasswordIs(t, a.ID, a.Password) {
			t.Error("a password changed")
		}
	})
	t.Run("link token on a code route, code on a link route", func(t *testing.T) {
		a := env.AddAccount(t)
		want(t, "code", env.Post(t, "/auth/otp", createCode(a.Email)), 200, "")
		env.Clock.Advance(61 * time.Second)
		want(t, "link", env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email})), 200, "")
		code, token := env.LastCode(t, a.Email), env.LastToken(t, a.Email)
		want(t, "token as otp", env.Post(t, "/auth/otp", validate(a.Email, token, pw)), 400, msgInvalidOTP)
		want(t, "code as token", env.Post(t, "/auth/reset-password", linkReset(code, pw)), 400, msgInvalidToken)
		want(t, "code as token, in path", env.Post(t, "/auth/reset-password/"+code, apptest.JSON(map[string]string{"new_password": pw})), 400, msgInvalidToken)
		if !env.PasswordIs(t, a.ID, a.Password) {
			t.Error("the password changed")
		}
	})
}
