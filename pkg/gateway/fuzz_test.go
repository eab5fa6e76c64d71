package gateway_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/apptest"
)

// Bad input: the HTTP decoding of every route family under `go test -fuzz`,
// over the whole service on the emulators. Whatever the body, path segment
// and Content-Type, the handler must not panic, never answer 500, and
// answer only with a row of the contract for that route. The seeds in
// testdata/fuzz/<FuzzName> are the named cases (oversized and deep bodies,
// duplicate keys, unicode and IDN emails, CR/LF, %00 and double encoding in
// the path, numbers for strings, odd codes, a 10 000-character password);
// plain `go test` runs them.
//
// In an input, "{known}" stands for the email of an account of the fuzz
// service and "{user}" for its user name, so the fuzzer reaches the paths
// of a real account too.

// fuzzRoute is one route and the answers the contract allows it.
type fuzzRoute struct {
	key     string // API Gateway route key
	path    func(segment string) string
	answers []fuzzAnswer
	// policy: a 400 may carry a password policy reason.
	policy bool
}

type fuzzAnswer struct {
	status int
	body   string
}

func fuzzN(status int, msg string) fuzzAnswer {
	return fuzzAnswer{status, apptest.JSON(struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
	}{status < 300, msg})}
}

func fuzzL(status int, msg string) fuzzAnswer {
	if status < 300 {
		return fuzzAnswer{status, apptest.JSON(map[string]string{"message": msg})}
	}
	return fuzzAnswer{status, apptest.JSON(map[string]string{"error": msg})}
}

func fuzz0(status int, msg string) fuzzAnswer {
	return fuzzAnswer{status, apptest.JSON(map[string]string{"message": msg})}
}

func fuzzE(status int, msg string) fuzzAnswer {
	return fuzzAnswer{status, apptest.JSON(struct {
		Message string `json:"message"`
		Status  int    `json:"status"`
	}{msg, status})}
}

// fuzzPolicyReasons are the password policy's reasons under the default
// settings (8..128 code points, argon2id).
var fuzzPolicyReasons = []string{
	"Password must be at least 8 characters.",
	"Password must be at most 128 characters.",
	"Password is too common. Choose a less common password.",
	"Password must not be your email or user name.",
	"Password contains characters that are not allowed.",
	"New password must be different from the current password.",
}

func fuzzLiteral(p string) func(string) string { return func(string) string { return p } }

// The contract's rows, route by route (docs/contract.md), without the 500s.
var (
	fuzzOTP = fuzzRoute{key: "POST /auth/otp", path: fuzzLiteral("/auth/otp"), policy: true, answers: []fuzzAnswer{
		fuzzN(200, "Successfully sent OTP."),
		fuzzN(200, "Successfully validated OTP and reset password."),
		fuzzN(400, "Invalid action."),
		fuzzN(400, "Invalid request body."),
		fuzzN(400, "Invalid or expired OTP."),
		fuzzN(404, "Email not found."),
		fuzzN(429, "Too many OTP requests. Please try again later."),
		fuzzN(429, "Too many attempts. Please request a new OTP."),
	}}
	fuzzEmailReset = fuzzRoute{key: "POST /{email}/reset-password", path: func(s string) string { return "/" + s + "/reset-password" }, policy: true, answers: []fuzzAnswer{
		fuzzN(200, "Successfully validated OTP and reset password."),
		fuzzN(400, "Invalid request body."),
		fuzzN(400, "Invalid or expired OTP."),
		fuzzN(404, "Invalid or expired OTP."),
		fuzzN(404, "No OTP found. Please request a new OTP."),
		fuzzN(429, "Too many attempts. Please request a new OTP."),
	}}
	fuzzLinkRequest = fuzzRoute{key: "POST /auth/request-reset-password", path: fuzzLiteral("/auth/request-reset-password"), answers: []fuzzAnswer{
		fuzzL(200, "Reset link sent"),
		fuzzL(400, "Invalid request body"),
		fuzzL(404, "No user found"),
		fuzzL(429, "Too many requests"),
	}}
	fuzzLinkAnswers = []fuzzAnswer{
		fuzzL(200, "Password has been reset"),
		fuzzL(400, "Invalid or expired token"),
		fuzzL(400, "Invalid request body"),
		fuzzL(429, "Too many requests"),
	}
	fuzzLinkReset       = fuzzRoute{key: "POST /auth/reset-password", path: fuzzLiteral("/auth/reset-password"), policy: true, answers: fuzzLinkAnswers}
	fuzzLinkResetInPath = fuzzRoute{key: "POST /auth/reset-password/{token}", path: func(s string) string { return "/auth/reset-password/" + s }, policy: true, answers: fuzzLinkAnswers}
	fuzzGenerate        = fuzzRoute{key: "POST /generate-otp", path: fuzzLiteral("/generate-otp"), answers: []fuzzAnswer{
		fuzz0(200, "OTP generated and sent"),
		fuzz0(400, "Email is required"),
		fuzz0(429, "Too many requests"),
	}}
	fuzzSeedReset = fuzzRoute{key: "POST /reset-password", path: fuzzLiteral("/reset-password"), policy: true, answers: []fuzzAnswer{
		fuzz0(200, "Password has been reset successfully"),
		fuzz0(400, "Email, OTP, and new password are required"),
		fuzz0(401, "Invalid OTP"),
		fuzz0(429, "Too many requests"),
	}}
	fuzzArmorCommon = []fuzzAnswer{
		fuzzE(400, "Either userName or userEmail must be provided!"),
		fuzzE(400, "Invalid userName!"),
		fuzzE(400, "Invalid Email!"),
		fuzzE(400, "Please Validate Your Details."),
		fuzzE(429, "OTP request limit exceeded. Please try again later."),
	}
	fuzzArmorRequest = fuzzRoute{key: "POST /auth/forgot-password", path: fuzzLiteral("/auth/forgot-password"),
		answers: append([]fuzzAnswer{fuzzE(201, "OTP sent to mail!")}, fuzzArmorCommon...)}
	fuzzArmorReset = fuzzRoute{key: "PUT /auth/forgot-password", path: fuzzLiteral("/auth/forgot-password"), policy: true,
		answers: append([]fuzzAnswer{
			fuzzE(201, "Password updated successfully!"),
			fuzzE(400, "OTP is required!"),
			fuzzE(400, "New password is required!"),
			fuzzE(400, "OTP is expired!"),
			fuzzE(400, "Invalid OTP!"),
			fuzzE(401, "Your device is unauthorized."),
		}, fuzzArmorCommon...)}
)

// fuzzFamilies are the route families, one fuzz target each.
var fuzzFamilies = map[string][]fuzzRoute{
	"N": {fuzzOTP, fuzzEmailReset},
	"L": {fuzzLinkRequest, fuzzLinkReset, fuzzLinkResetInPath},
	"0": {fuzzGenerate, fuzzSeedReset},
	"E": {fuzzArmorRequest, fuzzArmorReset},
}

// fuzzService is the service a fuzz target drives: limits raised so that
// no input is refused for the inputs before it, one account for "{known}",
// and one real mail sent, so the unknown-account answer waits as long as
// the emulator's mail takes rather than the 60 ms default.
func fuzzService(tb testing.TB) (*apptest.Env, apptest.Account) {
	tb.Helper()
	env := apptest.New(tb, apptest.Settings{
		"IP_LIMIT":             "1000000",
		"MAX_SENDS_PER_HOUR":   "1000",
		"MIN_SEND_INTERVAL":    "0s",
		"MAX_FAILURES_PER_DAY": "10000",
	})
	a := env.AddAccount(tb)
	if r := env.Post(tb, "/generate-otp", apptest.JSON(map[string]string{"email": a.Email})); r.Status != 200 {
		tb.Fatalf("warm-up mail: got %d %s", r.Status, r.Body)
	}
	return env, a
}

// fuzzEvent builds the event API Gateway would deliver: segment is the raw
// (URL-encoded) path parameter, which API Gateway decodes for
// pathParameters; a body that is not UTF-8 arrives base64-encoded.
func fuzzEvent(r fuzzRoute, segment, contentType, body string) events.APIGatewayV2HTTPRequest {
	segment = strings.ReplaceAll(segment, "/", "%2F") // one segment, as the route matched it
	method, _, _ := strings.Cut(r.key, " ")
	path := r.path(segment)
	params := map[string]string{}
	decoded, err := url.PathUnescape(segment)
	if err != nil {
		decoded = segment
	}
	switch {
	case strings.Contains(r.key, "{email}"):
		params["email"] = decoded
	case strings.Contains(r.key, "{token}"):
		params["token"] = decoded
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       r.key,
		RawPath:        path,
		Headers:        map[string]string{"content-type": contentType, "user-agent": "fuzz/1.0"},
		PathParameters: params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: r.key,
			HTTP:     events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "203.0.113.9", UserAgent: "fuzz/1.0"},
		},
	}
	if utf8.ValidString(body) {
		ev.Body = body
	} else {
		ev.Body = base64.StdEncoding.EncodeToString([]byte(body))
		ev.IsBase64Encoded = true
	}
	return ev
}

// fuzzCheck fails unless resp is a row of the contract for r.
func fuzzCheck(t *testing.T, r fuzzRoute, resp events.APIGatewayV2HTTPResponse, input string) {
	t.Helper()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s with %s: got %d %s, want no 5xx for bad input", r.key, input, resp.StatusCode, resp.Body)
	}
	if resp.Headers["Cache-Control"] != "no-store" || resp.Headers["Content-Type"] != "application/json" {
		t.Errorf("%s with %s: headers %v, want Cache-Control no-store and Content-Type application/json", r.key, input, resp.Headers)
	}
	if resp.StatusCode == 429 && resp.Headers["Retry-After"] == "" {
		t.Errorf("%s with %s: a 429 without Retry-After", r.key, input)
	}
	if slices.Contains(r.answers, fuzzAnswer{resp.StatusCode, resp.Body}) {
		return
	}
	if r.policy && resp.StatusCode == 400 {
		for _, reason := range fuzzPolicyReasons {
			for _, a := range []fuzzAnswer{fuzzN(400, reason), fuzzL(400, reason), fuzz0(400, reason), fuzzE(400, reason)} {
				if resp.Body == a.body {
					return
				}
			}
		}
	}
	t.Errorf("%s with %s: got %d %s, not a row of the contract", r.key, input, resp.StatusCode, resp.Body)
}

// fuzzFamily is the body of each fuzz target.
func fuzzFamily(f *testing.F, family string) {
	routes := fuzzFamilies[family]
	env, a := fuzzService(f)
	f.Fuzz(func(t *testing.T, route uint8, segment, contentType, body string) {
		r := routes[int(route)%len(routes)]
		known := strings.NewReplacer("{known}", a.Email, "{user}", a.Username)
		segment, body = known.Replace(segment), known.Replace(body)
		input := fmt.Sprintf("segment %q, Content-Type %q, body %.200q", segment, contentType, body)
		resp, err := env.Handler.Handle(context.Background(), fuzzEvent(r, segment, contentType, body))
		if err != nil {
			t.Fatalf("%s with %s: handler returned an error: %v", r.key, input, err)
		}
		if strings.Contains(env.Log.String(), "panic") {
			t.Fatalf("%s with %s: the handler panicked:\n%s", r.key, input, env.Log.String())
		}
		fuzzCheck(t, r, resp, input)
	})
}

func FuzzFamilyN(f *testing.F) { fuzzFamily(f, "N") }
func FuzzFamilyL(f *testing.F) { fuzzFamily(f, "L") }
func FuzzFamily0(f *testing.F) { fuzzFamily(f, "0") }
func FuzzFamilyE(f *testing.F) { fuzzFamily(f, "E") }

// TestBadInput drives the named cases through every route they apply to,
// with the answer each must get, beyond being a row of the contract.
func TestBadInput(t *testing.T) {
	t.Parallel()
	env, a := fuzzService(t)
	mailsBefore := len(env.MailsTo(t, a.Email))
	big := `{"email":"` + strings.Repeat("a", 1<<20) + `@example.test"}`
	deep := `{"email":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`
	deepObj := strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000)
	longPassword := strings.Repeat("pässwörd-", 1112)[:10000]
	cases := []struct {
		name        string
		route       fuzzRoute
		segment     string
		contentType string
		body        string
		status      int // 0: any row of the contract
	}{
		{"1 MB body", fuzzOTP, "", "application/json", big, 400},
		{"1 MB body, link", fuzzLinkRequest, "", "application/json", big, 400},
		{"1 MB body, armor", fuzzArmorRequest, "", "application/json", big, 400},
		{"deep JSON array", fuzzGenerate, "", "application/json", deep, 400},
		{"deep JSON object", fuzzOTP, "", "application/json", deepObj, 400},
		{"deep JSON, armor", fuzzArmorReset, "", "application/json", deep, 400},
		{"duplicate email keys", fuzzOTP, "", "application/json", `{"action":"create","email":"attacker@evil.test","email":"{known}"}`, 400},
		{"duplicate action keys", fuzzOTP, "", "application/json", `{"action":"create","action":"validate","email":"{known}"}`, 400},
		{"duplicate userEmail", fuzzArmorRequest, "", "application/json", `{"userEmail":"{known}","userEmail":"attacker@evil.test"}`, 400},
		{"duplicate email, link", fuzzLinkRequest, "", "application/json", `{"email":"{known}","email":"attacker@evil.test"}`, 400},
		{"unicode email", fuzzGenerate, "", "application/json", `{"email":"用户@例子.广告"}`, 400},
		{"IDN email, unicode", fuzzLinkRequest, "", "application/json", `{"email":"user@bücher.example"}`, 400},
		{"IDN email, punycode (unknown)", fuzzLinkRequest, "", "application/json", `{"email":"user@xn--bcher-kva.example"}`, 200},
		{"kelvin sign in a known email", fuzzOTP, "", "application/json", `{"action":"create","email":"` + strings.Replace(a.Email, "u", "\u212a", 1) + `"}`, 400},
		{"email with CRLF and Bcc", fuzzOTP, "", "application/json", `{"action":"create","email":"{known}\r\nBcc: attacker@evil.test"}`, 400},
		{"email with LF and Cc, link", fuzzLinkRequest, "", "application/json", `{"email":"{known}\nCc: attacker@evil.test"}`, 400},
		{"email with CRLF, armor", fuzzArmorRequest, "", "application/json", `{"userEmail":"{known}\r\nBcc: attacker@evil.test"}`, 400},
		{"email with CRLF, minimal API", fuzzGenerate, "", "application/json", `{"email":"{known}\r\nTo: attacker@evil.test"}`, 400},
		{"%00 in the path email", fuzzEmailReset, "user%00@example.test", "application/json", `{"otp":"123456","new_password":"a long new password"}`, 400},
		{"%00 after a known email", fuzzEmailReset, "{known}%00", "application/json", `{"otp":"123456","new_password":"a long new password"}`, 400},
		{"double-encoded @ in the path", fuzzEmailReset, strings.Replace(a.Email, "@", "%2540", 1), "application/json", `{"otp":"123456","new_password":"a long new password"}`, 400},
		{"CRLF in the path email", fuzzEmailReset, "{known}%0D%0ABcc:attacker@evil.test", "application/json", `{"otp":"123456","new_password":"a long new password"}`, 400},
		{"encoded @ in the path, known", fuzzEmailReset, strings.Replace(a.Email, "@", "%40", 1), "application/json", `{"otp":"00000","new_password":"a long new password"}`, 400},
		{"number for the email", fuzzOTP, "", "application/json", `{"action":"create","email":12345}`, 400},
		{"number for the action", fuzzOTP, "", "application/json", `{"action":1,"email":"{known}"}`, 400},
		{"number for the otp", fuzzSeedReset, "", "application/json", `{"email":"{known}","otp":123456,"newPassword":"a long new password"}`, 400},
		{"number for the password", fuzzLinkReset, "", "application/json", `{"token":"` + strings.Repeat("ab", 32) + `","new_password":12345678}`, 400},
		{"array for the email", fuzzLinkRequest, "", "application/json", `{"email":["{known}","attacker@evil.test"]}`, 400},
		{"object for the otp", fuzzArmorReset, "", "application/json", `{"userEmail":"{known}","otp":{"$ne":null},"newPassword":"a long new password"}`, 400},
		{"code with spaces", fuzzSeedReset, "", "application/json", `{"email":"{known}","otp":" 1 2 3 4 5 6 ","newPassword":"a long new password"}`, 401},
		{"code with Arabic-Indic digits", fuzzOTP, "", "application/json", `{"action":"validate","email":"{known}","otp":"١٢٣٤٥٦","new_password":"a long new password"}`, 400},
		{"code with fullwidth digits", fuzzArmorReset, "", "application/json", `{"userEmail":"{known}","otp":"１２３４５６","newPassword":"a long new password"}`, 400},
		{"10 000-character password", fuzzOTP, "", "application/json", `{"action":"validate","email":"{known}","otp":"123456","new_password":"` + longPassword + `"}`, 400},
		{"10 000-character password, link", fuzzLinkResetInPath, strings.Repeat("ab", 32), "application/json", `{"new_password":"` + longPassword + `"}`, 400},
		{"10 000-character password, armor", fuzzArmorReset, "", "application/json", `{"userEmail":"{known}","otp":"123456","newPassword":"` + longPassword + `"}`, 400},
		{"not JSON", fuzzGenerate, "", "application/json", `email={known}`, 400},
		{"wrong Content-Type", fuzzOTP, "", "text/plain", `{"action":"create","email":"{known}"}`, 400},
		{"no Content-Type", fuzzLinkRequest, "", "", `{"email":"{known}"}`, 400},
		{"Latin-1 body", fuzzSeedReset, "", "application/json", "{\"email\":\"{known}\",\"otp\":\"123456\",\"newPassword\":\"p\xe4ssword-long\"}", 400},
		{"lone surrogate in the password", fuzzSeedReset, "", "application/json", `{"email":"{known}","otp":"123456","newPassword":"a long new password\ud800"}`, 400},
		{"lone low surrogate in the password", fuzzOTP, "", "application/json", `{"action":"validate","email":"{known}","otp":"123456","new_password":"a long new password\udc00"}`, 400},
		{"lone surrogate in the user name", fuzzArmorRequest, "", "application/json", `{"userName":"{user}\ud800x"}`, 400},
		{"lone surrogate in a key", fuzzLinkRequest, "", "application/json", `{"\ud800":"x","email":"{known}"}`, 400},
		{"trailing data", fuzzGenerate, "", "application/json", `{"email":"{known}"}{"email":"attacker@evil.test"}`, 400},
		{"empty body", fuzzArmorRequest, "", "application/json", ``, 400},
		{"null", fuzzLinkReset, "", "application/json", `null`, 400},
	}
	known := strings.NewReplacer("{known}", a.Email, "{user}", a.Username)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			segment, body := known.Replace(c.segment), known.Replace(c.body)
			resp, err := env.Handler.Handle(context.Background(), fuzzEvent(c.route, segment, c.contentType, body))
			if err != nil {
				t.Fatalf("handler returned an error: %v", err)
			}
			fuzzCheck(t, c.route, resp, c.name)
			if c.status != 0 && resp.StatusCode != c.status {
				t.Errorf("got %d %s, want %d", resp.StatusCode, resp.Body, c.status)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &m); err != nil {
				t.Errorf("body is not a JSON object: %q", resp.Body)
			}
		})
	}
	// None of it mailed anyone: not the account, whose email was only
	// ever wrapped in bad input, and not the attacker.
	if got := len(env.MailsTo(t, a.Email)); got != mailsBefore {
		t.Errorf("mails to the account: got %d, want %d", got, mailsBefore)
	}
	if got := len(env.MailsTo(t, "attacker@evil.test")); got != 0 {
		t.Errorf("mails to attacker@evil.test: got %d, want 0", got)
	}
	if strings.Contains(env.Log.String(), "panic") {
		t.Error("the handler panicked")
	}
}
