package gateway_test

// Review findings on telling accounts apart through the answers: a user
// name that shares its email's limits and code, two accounts with one
// email, and a failed mail. Each test compares whole answers (status, every
// header, body bytes) with the answer a caller gets for no account at all.

import (
	"fmt"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/dynamo"
)

// reviewSame fails the test unless got is the same answer as want: the
// same status, the same headers and the same body, byte for byte.
func reviewSame(t *testing.T, what string, got, want reply) bool {
	t.Helper()
	if got.Status != want.Status || got.Body != want.Body || fmt.Sprint(got.Headers) != fmt.Sprint(want.Headers) {
		t.Errorf("%s: the answers differ\n got %d %s %v\n     for %s\nwant %d %s %v\n     for %s",
			what, got.Status, got.Body, got.Headers, got.request, want.Status, want.Body, want.Headers, want.request)
		return false
	}
	return true
}

// reviewLogSince returns what the service logged after mark, a length of
// env.Log read earlier.
func reviewLogSince(env *apptest.Env, mark int) string { return env.Log.String()[mark:] }

// reviewLinesAt returns the lines of log at one of the levels ("WARN",
// "ERROR").
func reviewLinesAt(log string, levels ...string) []string {
	var out []string
	for _, line := range strings.Split(log, "\n") {
		for _, l := range levels {
			if strings.Contains(line, "level="+l) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// TestReviewUsernameEmailLinkage: a user name must not share anything a
// caller can observe with its account's email. Codes, counters and limits
// are kept per name asked for, so asking by user name answers the same
// whether the name is the one of the account whose email was used (U1),
// another account's (U2), or nobody's (U3).
func TestReviewUsernameEmailLinkage(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	names := []struct {
		name string
		// pick chooses the user name asked for, given E's account and
		// another account.
		pick func(e, other apptest.Account) string
	}{
		{"U1 (E's user name)", func(e, _ apptest.Account) string { return e.Username }},
		{"U2 (another account's user name)", func(_, other apptest.Account) string { return other.Username }},
		{"U3 (no account)", func(apptest.Account, apptest.Account) string { return "nobody" + randHex(6) }},
	}
	// compare holds every name's answer to U3's, the answer for no account.
	compare := func(t *testing.T, what string, answers []reply) {
		t.Helper()
		for i := range 2 {
			reviewSame(t, fmt.Sprintf("%s: %s vs %s", what, names[i].name, names[2].name), answers[i], answers[2])
		}
	}

	// spend asks for codes until the answer is a 429, past
	// MIN_SEND_INTERVAL each time, so the hourly limit is what refuses.
	spend := func(t *testing.T, send func() reply, okStatus int, okBody string) {
		t.Helper()
		for sent := 0; ; sent++ {
			r := send()
			if r.Status == 429 {
				return
			}
			must(t, r, okStatus, okBody)
			if sent == 10 {
				t.Fatalf("10 sends and no 429: %s", r.request)
			}
			env.Clock.Advance(61 * time.Second)
		}
	}

	// (a) E's send limit spent through one route; then a code asked for by
	// user name. The clock moves, so the worlds run one after another.
	t.Run("send limit of E spent, then a code by user name", func(t *testing.T) {
		var answers []reply
		for _, n := range names {
			spender, asker := newClient(t, env), newClient(t, env) // two IPs: no per-IP limit in play
			e, other := spender.account(t), spender.account(t)
			spend(t, func() reply { return spender.post(t, "/generate-otp", js("email", e.Email)) }, 200, minimalSent)
			answers = append(answers, asker.forgot(t, js("userName", n.pick(e, other)), ""))
			// The account-wide send limit still holds, hidden: no more
			// mails to E than MAX_SENDS_PER_HOUR in the hour.
			if got := len(env.MailsTo(t, e.Email)); got > 3 {
				t.Errorf("%s: %d mails to E within the hour, want at most 3", n.name, got)
			}
		}
		for i, r := range answers {
			t.Logf("%s: %d %s", names[i].name, r.Status, r.Body)
		}
		compare(t, "POST /auth/forgot-password by userName after E's send limit was spent", answers)
	})
	// The other way round: U's send limit spent; then a code asked for by
	// U's email (E1), another account's (E2) or nobody's (E3).
	t.Run("send limit of U spent, then a code by email", func(t *testing.T) {
		emails := []func(u, other apptest.Account) string{
			func(u, _ apptest.Account) string { return u.Email },
			func(_, other apptest.Account) string { return other.Email },
			func(apptest.Account, apptest.Account) string { return unknownEmail() },
		}
		var answers []reply
		for i, pick := range emails {
			spender, asker := newClient(t, env), newClient(t, env)
			u, other := spender.account(t), spender.account(t)
			spend(t, func() reply { return spender.forgot(t, js("userName", u.Username), "") }, 201, userNameOrEmailSent)
			answers = append(answers, asker.post(t, "/generate-otp", js("email", pick(u, other))))
			if got := len(env.MailsTo(t, u.Email)); got > 3 {
				t.Errorf("E%d: %d mails to U's account within the hour, want at most 3", i+1, got)
			}
		}
		for i, r := range answers {
			t.Logf("E%d: %d %s", i+1, r.Status, r.Body)
		}
		for i := range 2 {
			reviewSame(t, fmt.Sprintf("POST /generate-otp after U's send limit was spent: E%d vs E3 (no account)", i+1), answers[i], answers[2])
		}
	})

	// (b) A device-bound code asked for by E from device A; then the code
	// tried by user name.
	const deviceA, deviceB = "phone/1.0", otherDevice
	variants := []struct {
		name string
		otp  func(code string) string
		ua   string
	}{
		{"E's right code from device B", func(c string) string { return c }, deviceB},
		{"a wrong code from device B", wrongCode, deviceB},
		{"E's right code from device A", func(c string) string { return c }, deviceA},
	}
	for _, v := range variants {
		t.Run("device-bound code asked for by E, PUT by user name with "+v.name, func(t *testing.T) {
			t.Parallel()
			var answers []reply
			for _, n := range names {
				c := newClient(t, env)
				e, other := c.account(t), c.account(t)
				must(t, c.forgot(t, js("userEmail", e.Email), deviceA), 201, userNameOrEmailSent)
				code := c.code(t, e.Email)
				answers = append(answers, c.put(t, js("userName", n.pick(e, other), "otp", v.otp(code), "newPassword", newPassword), v.ua))
				// A code works only with the name it was asked for by.
				wantPassword(t, env, e, e.Password)
			}
			for i, r := range answers {
				t.Logf("%s: %d %s", names[i].name, r.Status, r.Body)
			}
			compare(t, "PUT /auth/forgot-password by userName with "+v.name, answers)
		})
	}
	// By E itself the code is compared first: a wrong code from device B
	// is just a wrong code; the right one from B is the device row, and
	// counts as a wrong guess.
	t.Run("device check after the code, by E itself", func(t *testing.T) {
		t.Parallel()
		c := newClient(t, env)
		e := c.account(t)
		must(t, c.forgot(t, js("userEmail", e.Email), deviceA), 201, userNameOrEmailSent)
		code := c.code(t, e.Email)
		put := func(otp, ua string) reply {
			return c.put(t, js("userEmail", e.Email, "otp", otp, "newPassword", newPassword), ua)
		}
		expect(t, put(wrongCode(code), deviceB), 400, userNameOrEmailInvalidOTP)
		expect(t, put(code, deviceB), 401, userNameOrEmailDevice)
		for range 3 { // with the two above, MAX_ATTEMPTS (5) guesses
			expect(t, put(wrongCode(code), deviceA), 400, userNameOrEmailInvalidOTP)
		}
		expect(t, put(code, deviceA), 429, userNameOrEmailLimit)
		wantPassword(t, env, e, e.Password)
	})
}

// reviewWithEmail is an account option that gives the account email.
func reviewWithEmail(email string) apptest.AccountOption {
	return func(a *dynamo.NewAccount) { a.Email = email }
}

// reviewSendRoute is a send route and how it names an account by email.
type reviewSendRoute struct {
	name string
	send func(t *testing.T, c *client, email string) reply
}

var reviewSendRoutes = []reviewSendRoute{
	{"N POST /auth/otp create", func(t *testing.T, c *client, email string) reply {
		return c.post(t, "/auth/otp", js("action", "create", "email", email))
	}},
	{"0 POST /generate-otp", func(t *testing.T, c *client, email string) reply {
		return c.post(t, "/generate-otp", js("email", email))
	}},
	{"L POST /auth/request-reset-password", func(t *testing.T, c *client, email string) reply {
		return c.post(t, "/auth/request-reset-password", js("email", email))
	}},
	{"E POST /auth/forgot-password", func(t *testing.T, c *client, email string) reply {
		return c.forgot(t, js("userEmail", email), "")
	}},
}

// TestReviewDuplicateEmailIsUnknown: the email index does not enforce
// uniqueness; an email two accounts share is answered like an unknown
// email, mails nobody, and is logged as a warning without the address.
func TestReviewDuplicateEmailIsUnknown(t *testing.T) {
	t.Parallel()
	env := apptest.New(t, nil)
	// One route after another, so the log between two marks is one
	// request's.
	for _, rt := range reviewSendRoutes {
		t.Run(rt.name, func(t *testing.T) {
			c := newClient(t, env)
			shared := "shared-" + randHex(6) + "@example.test"
			first, second := c.account(t, reviewWithEmail(shared)), c.account(t, reviewWithEmail(shared))
			for _, a := range []apptest.Account{first, second} {
				if got := env.Stored(t, a.ID).Email; got != shared {
					t.Fatalf("account %s stored with email %q, want %q", a.ID, got, shared)
				}
			}

			mark := len(env.Log.String())
			got := rt.send(t, c, shared)
			logged := reviewLogSince(env, mark)
			unknown := rt.send(t, newClient(t, env), unknownEmail())

			t.Logf("shared email: %d %s; unknown email: %d %s", got.Status, got.Body, unknown.Status, unknown.Body)
			if got.Status >= 500 {
				t.Errorf("two accounts with one email: got %d %s, never a 5xx", got.Status, got.Body)
			}
			reviewSame(t, "two accounts with one email vs an unknown email", got, unknown)
			wantMails(t, env, shared, 0)
			if len(reviewLinesAt(logged, "WARN")) == 0 {
				t.Errorf("no WARN line logged for two accounts with one email; the request logged:\n%s", logged)
			}
			if strings.Contains(strings.ToLower(logged), shared) {
				t.Errorf("the log holds the shared address %s:\n%s", shared, logged)
			}
		})
	}
}

// reviewAnswer is a status and the exact body wanted with it.
type reviewAnswer struct {
	status int
	body   string
}

// reviewMailFlow is a send route with the reset that uses what it mails.
type reviewMailFlow struct {
	name string
	// request asks for a code or link for a; unknown asks the same route
	// for no account.
	request func(t *testing.T, c *client, a apptest.Account) reply
	unknown func(t *testing.T, c *client) reply
	sent    reviewAnswer // the answer to a request that mails
	// reset uses the newest code or link mailed to a to set newPassword.
	reset     func(t *testing.T, c *client, a apptest.Account) reply
	done      reviewAnswer
	failed500 string // the family's 500 body, for REVEAL_UNKNOWN_ACCOUNTS=true
}

var reviewMailFlows = []reviewMailFlow{
	{
		name: "N code",
		request: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/auth/otp", js("action", "create", "email", a.Email))
		},
		unknown: func(t *testing.T, c *client) reply {
			return c.post(t, "/auth/otp", js("action", "create", "email", unknownEmail()))
		},
		sent: reviewAnswer{200, codeByActionSent},
		reset: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/auth/otp", js("action", "validate", "email", a.Email, "otp", c.code(t, a.Email), "new_password", newPassword))
		},
		done: reviewAnswer{200, codeByActionReset}, failed500: codeByActionCreateFailed,
	},
	{
		name: "0 code",
		request: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/generate-otp", js("email", a.Email))
		},
		unknown: func(t *testing.T, c *client) reply {
			return c.post(t, "/generate-otp", js("email", unknownEmail()))
		},
		sent: reviewAnswer{200, minimalSent},
		reset: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/reset-password", js("email", a.Email, "otp", c.code(t, a.Email), "newPassword", newPassword))
		},
		done: reviewAnswer{200, minimalDone}, failed500: minimalFailed,
	},
	{
		name: "L link",
		request: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/auth/request-reset-password", js("email", a.Email))
		},
		unknown: func(t *testing.T, c *client) reply {
			return c.post(t, "/auth/request-reset-password", js("email", unknownEmail()))
		},
		sent: reviewAnswer{200, linkSent},
		reset: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.post(t, "/auth/reset-password", js("token", c.token(t, a.Email), "new_password", newPassword))
		},
		done: reviewAnswer{200, linkDone}, failed500: linkFailed,
	},
	{
		name: "E code by email",
		request: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.forgot(t, js("userEmail", a.Email), "")
		},
		unknown: func(t *testing.T, c *client) reply {
			return c.forgot(t, js("userEmail", unknownEmail()), "")
		},
		sent: reviewAnswer{201, userNameOrEmailSent},
		reset: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.put(t, js("userEmail", a.Email, "otp", c.code(t, a.Email), "newPassword", newPassword), "")
		},
		done: reviewAnswer{201, userNameOrEmailDone}, failed500: userNameOrEmailFailed,
	},
	{
		name: "E code by user name",
		request: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.forgot(t, js("userName", a.Username), "")
		},
		unknown: func(t *testing.T, c *client) reply {
			return c.forgot(t, js("userName", "nobody"+randHex(6)), "")
		},
		sent: reviewAnswer{201, userNameOrEmailSent},
		reset: func(t *testing.T, c *client, a apptest.Account) reply {
			return c.put(t, js("userName", a.Username, "otp", c.code(t, a.Email), "newPassword", newPassword), "")
		},
		done: reviewAnswer{201, userNameOrEmailDone}, failed500: userNameOrEmailFailed,
	},
}

// reviewMailFaults are the ways SES refuses a mail: a server error, and a
// 400 no retry can change.
var reviewMailFaults = []struct {
	name string
	err  error
}{
	{"SES server error", &smithy.GenericAPIError{Code: "InternalFailure", Message: "review: injected SES failure", Fault: smithy.FaultServer}},
	{"SES MessageRejected (400)", &sestypes.MessageRejected{Message: aws.String("review: Email address is not verified")}},
}

// reviewFailMail makes every SESv2.SendEmail fail with err while do runs,
// and fails the test if none was made.
func reviewFailMail(t *testing.T, env *apptest.Env, err error, do func() reply) reply {
	t.Helper()
	var hit atomic.Int32
	env.Calls.FailWith(func(op string, _ int) error {
		if op == "SESv2.SendEmail" {
			hit.Add(1)
			return err
		}
		return nil
	})
	defer env.Calls.FailWith(nil)
	r := do()
	if hit.Load() == 0 {
		t.Fatalf("%s: no SESv2.SendEmail call was made, so none failed", r.request)
	}
	return r
}

// TestReviewFailedMailAnsweredAsSent: with unknown accounts hidden (the
// default), a mail SES refuses must not tell a known account from an
// unknown one. The answer is the unknown account's; the code or link is
// withdrawn, so the user can ask again at once and the new one works; the
// failure is logged without the address or a code. With
// REVEAL_UNKNOWN_ACCOUNTS=true the families' 500 rows apply.
func TestReviewFailedMailAnsweredAsSent(t *testing.T) {
	t.Parallel()
	t.Run("hidden", func(t *testing.T) {
		t.Parallel()
		env := apptest.New(t, nil)
		codeLike := regexp.MustCompile(fmt.Sprintf(`(^|[^0-9A-Za-z])[0-9]{%d}([^0-9A-Za-z]|$)`, env.Config.Reset.OTPLength))
		// Failures are injected into the whole Env: one case at a time.
		for _, fault := range reviewMailFaults {
			for _, f := range reviewMailFlows {
				t.Run(fault.name+"/"+f.name, func(t *testing.T) {
					c := newClient(t, env)
					a := c.account(t)
					mark := len(env.Log.String())
					got := reviewFailMail(t, env, fault.err, func() reply { return f.request(t, c, a) })
					logged := reviewLogSince(env, mark)
					unknown := f.unknown(t, newClient(t, env))
					t.Logf("failed mail: %d %s; unknown account: %d %s", got.Status, got.Body, unknown.Status, unknown.Body)
					reviewSame(t, "known account whose mail SES refused vs an unknown account", got, unknown)
					wantMails(t, env, a.Email, 0)

					if len(reviewLinesAt(logged, "WARN", "ERROR")) == 0 {
						t.Errorf("the failed mail was not logged at WARN or ERROR; the request logged:\n%s", logged)
					}
					if strings.Contains(strings.ToLower(logged), a.Email) {
						t.Errorf("the log of the failed mail holds the address %s:\n%s", a.Email, logged)
					}
					if m := codeLike.FindString(logged); m != "" {
						t.Errorf("the log of the failed mail holds something shaped like a code (%q):\n%s", m, logged)
					}

					// Withdrawn: asked again at once (no MIN_SEND_INTERVAL
					// wait), accepted, mailed, and it works.
					must(t, f.request(t, c, a), f.sent.status, f.sent.body)
					wantMails(t, env, a.Email, 1)
					expect(t, f.reset(t, c, a), f.done.status, f.done.body)
					wantPassword(t, env, a, newPassword)
				})
			}
		}
	})
	t.Run("revealed", func(t *testing.T) {
		t.Parallel()
		env := apptest.New(t, apptest.Settings{"REVEAL_UNKNOWN_ACCOUNTS": "true"})
		for _, fault := range reviewMailFaults {
			for _, f := range reviewMailFlows {
				t.Run(fault.name+"/"+f.name, func(t *testing.T) {
					c := newClient(t, env)
					a := c.account(t)
					got := reviewFailMail(t, env, fault.err, func() reply { return f.request(t, c, a) })
					expect(t, got, 500, f.failed500)
					wantMails(t, env, a.Email, 0)
				})
			}
		}
	})
}
