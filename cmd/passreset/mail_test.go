package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The SES emulator of the dev stack (aws-ses-v2-local) has no suppression
// list: its router answers any path it does not know, these included, with
// a 404 and "<UnknownOperationException/>". So these tests run the command
// line against sesStandIn, which speaks the two operations of the SES v2
// REST API the way SES does.

// suppressionPath is where SES v2 keeps a suppressed address.
const suppressionPath = "/v2/email/suppression/addresses/"

// sesRequest is a request the stand-in received.
type sesRequest struct {
	method, uri string // uri as sent, escaping included
	addr        string // the path's address, unescaped
	auth, date  string // Authorization and X-Amz-Date
}

// sesStandIn is a hand-written SES v2 of GetSuppressedDestination and
// DeleteSuppressedDestination over one account-level suppression list. It
// keeps every request.
type sesStandIn struct {
	mu       sync.Mutex
	listed   map[string]string // address → its SuppressedDestination JSON object
	fail     http.HandlerFunc  // when set, answers every request
	requests []sesRequest
}

func newSESStandIn(t *testing.T, listed map[string]string) (*sesStandIn, *httptest.Server) {
	t.Helper()
	s := &sesStandIn{listed: listed}
	if s.listed == nil {
		s.listed = map[string]string{}
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *sesStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	addr, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), suppressionPath))
	if err != nil || !strings.HasPrefix(r.URL.EscapedPath(), suppressionPath) {
		addr = ""
	}
	s.requests = append(s.requests, sesRequest{
		method: r.Method, uri: r.RequestURI, addr: addr,
		auth: r.Header.Get("Authorization"), date: r.Header.Get("X-Amz-Date"),
	})
	if s.fail != nil {
		s.fail(w, r)
		return
	}
	if addr == "" || r.URL.RawQuery != "" {
		sesError(w, http.StatusBadRequest, "BadRequestException", "unexpected request "+r.RequestURI)
		return
	}
	dest, ok := s.listed[addr]
	if !ok {
		// What SES answers for an address not on the list, to both.
		sesError(w, http.StatusNotFound, "NotFoundException", "Email address "+addr+" does not exist on your suppression list.")
		return
	}
	switch r.Method {
	case http.MethodGet:
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"SuppressedDestination":` + dest + `}`))
	case http.MethodDelete:
		delete(s.listed, addr)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	default:
		sesError(w, http.StatusMethodNotAllowed, "BadRequestException", "unexpected method "+r.Method)
	}
}

// sesError writes an error as SES v2 does: its type in X-Amzn-ErrorType and
// a JSON body with the message.
func sesError(w http.ResponseWriter, status int, typ, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	w.Write([]byte(`{"message":"` + message + `"}`))
}

func (s *sesStandIn) received() []sesRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sesRequest(nil), s.requests...)
}

const (
	// mailAddr has characters a path must escape: "+" and "@".
	mailAddr = "ana+support@example.com"
	// mailURI is the path SES must be asked at for mailAddr.
	mailURI = suppressionPath + "ana%2Bsupport%40example.com"

	bounced = `{"EmailAddress":"` + mailAddr + `","Reason":"BOUNCE","LastUpdateTime":1714564800.25,` +
		`"Attributes":{"MessageId":"0100018f2f-bounced-msg","FeedbackId":"0100018f30-bounce-feedback"}}`
	// complained carries a tenant SES might name, which is not the
	// support's business and must not be printed.
	complained = `{"EmailAddress":"` + mailAddr + `","Reason":"COMPLAINT","LastUpdateTime":1717243200,` +
		`"Attributes":{"MessageId":"0100018fcc-complained-msg","FeedbackId":"0100018fcd-complaint-feedback"},"TenantName":"tenant-acme"}`
)

// runMail runs passreset with args and the environment env, and returns
// its exit code and what it printed on each stream.
func runMail(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// checkRequests fails unless got is exactly one signed request of method
// for mailAddr at its escaped path.
func checkRequests(t *testing.T, got []sesRequest, method string) {
	t.Helper()
	if len(got) != 1 {
		t.Fatalf("SES received %d requests %v; want one %s %s", len(got), got, method, mailURI)
	}
	r := got[0]
	if r.method != method || r.uri != mailURI {
		t.Errorf("SES received %s %s; want %s %s", r.method, r.uri, method, mailURI)
	}
	if r.addr != mailAddr {
		t.Errorf("SES was asked about %q; want %q", r.addr, mailAddr)
	}
	// SigV4 for SES: the credentials' key id, the "ses" signing name.
	if !strings.HasPrefix(r.auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(r.auth, "/ses/aws4_request") || r.date == "" {
		t.Errorf("request not signed for SES: Authorization %q, X-Amz-Date %q", r.auth, r.date)
	}
}

func TestMailSuppressed(t *testing.T) {
	tests := []struct {
		name     string
		listed   map[string]string
		wantCode int
		want     string
	}{
		{"bounce", map[string]string{mailAddr: bounced}, exitMismatch, mailAddr + " is on the account's SES suppression list at URL: SES drops mail to it\n" +
			"  reason:      BOUNCE\n" +
			"  since:       2024-05-01T12:00:00Z\n" +
			"  message id:  0100018f2f-bounced-msg\n" +
			"  feedback id: 0100018f30-bounce-feedback\n" +
			"to remove it: passreset mail unsuppress --email " + mailAddr + "\n"},
		{"complaint", map[string]string{mailAddr: complained}, exitMismatch, mailAddr + " is on the account's SES suppression list at URL: SES drops mail to it\n" +
			"  reason:      COMPLAINT\n" +
			"  since:       2024-06-01T12:00:00Z\n" +
			"  message id:  0100018fcc-complained-msg\n" +
			"  feedback id: 0100018fcd-complaint-feedback\n" +
			"the recipient marked a mail as spam: remove the address only if they ask for mail again\n" +
			"to remove it: passreset mail unsuppress --email " + mailAddr + "\n"},
		// Another address on the list must not answer for this one.
		{"not suppressed", map[string]string{"bo@example.com": bounced}, exitOK, mailAddr + " is not on the account's SES suppression list at URL\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ses, srv := newSESStandIn(t, tt.listed)
			// Spaces around the address, as pasted from a ticket.
			code, out, errOut := runMail(t, nil, "mail", "suppressed", "--email", " "+mailAddr+"\t", "--endpoint", srv.URL)
			if code != tt.wantCode {
				t.Errorf("passreset mail suppressed (%s): exit %d, want %d; stderr:\n%s", tt.name, code, tt.wantCode, errOut)
			}
			if want := strings.ReplaceAll(tt.want, "URL", srv.URL); out != want {
				t.Errorf("passreset mail suppressed (%s) printed:\n%s\nwant:\n%s", tt.name, out, want)
			}
			if errOut != "" {
				t.Errorf("passreset mail suppressed (%s) printed on stderr:\n%s", tt.name, errOut)
			}
			checkRequests(t, ses.received(), http.MethodGet)
		})
	}
}

func TestMailUnsuppress(t *testing.T) {
	tests := []struct {
		name       string
		listed     map[string]string
		want       string
		wantListed int // addresses left on the list
	}{
		{"found", map[string]string{mailAddr: bounced, "bo@example.com": complained}, "removed " + mailAddr + " from the account's SES suppression list at URL: SES sends to it again\n", 1},
		{"not found", map[string]string{"bo@example.com": complained}, mailAddr + " was not on the account's SES suppression list at URL: nothing to remove\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ses, srv := newSESStandIn(t, tt.listed)
			code, out, errOut := runMail(t, nil, "mail", "unsuppress", "--endpoint", srv.URL, "--email", mailAddr)
			if code != exitOK {
				t.Errorf("passreset mail unsuppress (%s): exit %d, want %d; stderr:\n%s", tt.name, code, exitOK, errOut)
			}
			if want := strings.ReplaceAll(tt.want, "URL", srv.URL); out != want {
				t.Errorf("passreset mail unsuppress (%s) printed:\n%s\nwant:\n%s", tt.name, out, want)
			}
			checkRequests(t, ses.received(), http.MethodDelete)
			if _, still := ses.listed[mailAddr]; still || len(ses.listed) != tt.wantListed {
				t.Errorf("after unsuppress (%s) the list holds %d addresses, %s among them: %v; want %d without it", tt.name, len(ses.listed), mailAddr, still, tt.wantListed)
			}
		})
	}
}

// TestMailEndpointFromEnvironment checks the second rule: with no
// --endpoint, AWS_ENDPOINT_URL_SESV2.
func TestMailEndpointFromEnvironment(t *testing.T) {
	ses, srv := newSESStandIn(t, map[string]string{mailAddr: bounced})
	code, out, errOut := runMail(t, map[string]string{"AWS_ENDPOINT_URL_SESV2": srv.URL}, "mail", "suppressed", "--email", mailAddr)
	if code != exitMismatch || !strings.Contains(out, "list at "+srv.URL) {
		t.Errorf("passreset mail suppressed with AWS_ENDPOINT_URL_SESV2: exit %d, want %d, naming %s; output:\n%s%s", code, exitMismatch, srv.URL, out, errOut)
	}
	checkRequests(t, ses.received(), http.MethodGet)
}

// TestMailSESFails runs the commands with credentials from the environment
// against an SES that fails, and against the dev stack's emulator, which
// has no suppression API: exit 2, an error naming the failure, no claim
// about the list, and no credentials printed.
func TestMailSESFails(t *testing.T) {
	const keyID, secret = "AKIAMAILTESTKEYID0001", "mail-test-secret-access-key-0123456789abcd"
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": keyID, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_REGION": "eu-west-1", "AWS_PROFILE": "", "AWS_ENDPOINT_URL_SESV2": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED": "true",
		// One attempt: the SDK would retry a 500 after up to seconds.
		"AWS_MAX_ATTEMPTS": "1",
	} {
		t.Setenv(k, v)
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": keyID, "AWS_REGION": "eu-west-1"}

	failures := []struct {
		name             string
		fail             http.HandlerFunc
		wantErr, notWant string
	}{
		{"server error", func(w http.ResponseWriter, _ *http.Request) {
			sesError(w, http.StatusInternalServerError, "InternalFailure", "the request processing has failed")
		}, "StatusCode: 500", "no suppression list"},
		{"emulator without the API", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("<UnknownOperationException/>"))
		}, "has no suppression list", "not on the"},
	}
	commands := []struct{ sub, method string }{{"suppressed", http.MethodGet}, {"unsuppress", http.MethodDelete}}
	for _, f := range failures {
		for _, cmd := range commands {
			t.Run(cmd.sub+" "+f.name, func(t *testing.T) {
				ses, srv := newSESStandIn(t, map[string]string{mailAddr: bounced})
				ses.fail = f.fail
				code, out, errOut := runMail(t, env, "mail", cmd.sub, "--email", mailAddr, "--endpoint", srv.URL)
				if code != exitError {
					t.Errorf("passreset mail %s, SES %s: exit %d, want %d", cmd.sub, f.name, code, exitError)
				}
				if out != "" {
					t.Errorf("passreset mail %s, SES %s, printed on stdout:\n%s", cmd.sub, f.name, out)
				}
				if !strings.Contains(errOut, "passreset: mail "+cmd.sub+": ask SES at "+srv.URL) || !strings.Contains(errOut, f.wantErr) {
					t.Errorf("passreset mail %s, SES %s, said:\n%s\nwant the command, the endpoint and %q", cmd.sub, f.name, errOut, f.wantErr)
				}
				if strings.Contains(errOut, f.notWant) {
					t.Errorf("passreset mail %s, SES %s, said %q:\n%s", cmd.sub, f.name, f.notWant, errOut)
				}
				for _, c := range []string{keyID, secret} {
					if strings.Contains(out+errOut, c) {
						t.Errorf("passreset mail %s printed a credential %.8s…:\n%s", cmd.sub, c, errOut)
					}
				}
				checkRequests(t, ses.received(), cmd.method)
				if r := ses.received(); len(r) == 1 && !strings.Contains(r[0].auth, "Credential="+keyID+"/") {
					t.Errorf("request not signed with the environment's credentials: %q", r[0].auth)
				}
			})
		}
	}
}

func TestMailUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"no subcommand", []string{"mail"}, "want mail suppressed or mail unsuppress"},
		{"flag first", []string{"mail", "--email", mailAddr}, "want mail suppressed or mail unsuppress"},
		{"unknown subcommand", []string{"mail", "list", "--email", mailAddr}, "unknown command mail list"},
		{"argument", []string{"mail", "suppressed", mailAddr}, "takes no arguments"},
		{"no email", []string{"mail", "suppressed"}, "--email is required"},
		{"blank email", []string{"mail", "unsuppress", "--email", "  \t"}, "--email is required"},
		{"no at", []string{"mail", "suppressed", "--email", "ana.example.com"}, "not an email address"},
		{"no domain", []string{"mail", "unsuppress", "--email", "ana@"}, "not an email address"},
		{"no local part", []string{"mail", "suppressed", "--email", "@example.com"}, "not an email address"},
		{"display name", []string{"mail", "suppressed", "--email", "Ana <" + mailAddr + ">"}, "not an email address"},
		{"angle brackets", []string{"mail", "unsuppress", "--email", "<" + mailAddr + ">"}, "not an email address"},
		{"two addresses", []string{"mail", "unsuppress", "--email", mailAddr + ", bo@example.com"}, "not an email address"},
		{"space inside", []string{"mail", "suppressed", "--email", "ana @example.com"}, "not an email address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ses, srv := newSESStandIn(t, map[string]string{mailAddr: bounced})
			args := append(tt.args, "--endpoint", srv.URL)
			code, out, errOut := runMail(t, nil, args...)
			if code != exitError {
				t.Errorf("passreset %q: exit %d, want %d", args, code, exitError)
			}
			if !strings.Contains(errOut, tt.wantErr) || !strings.Contains(errOut, "Usage:") {
				t.Errorf("passreset %q said:\n%s\nwant %q and the usage", args, errOut, tt.wantErr)
			}
			if out != "" {
				t.Errorf("passreset %q printed on stdout:\n%s", args, out)
			}
			if r := ses.received(); len(r) != 0 {
				t.Errorf("passreset %q sent %d requests to SES: %v; want none", args, len(r), r)
			}
		})
	}
}

// TestMailHelp checks the help says which suppression list the commands
// read, and when it applies to the service's mail.
func TestMailHelp(t *testing.T) {
	code, out, _ := runMail(t, nil, "help")
	for _, want := range []string{"passreset mail suppressed --email E", "passreset mail unsuppress --email E", "AWS_ENDPOINT_URL_SESV2", "configuration set uses the account's"} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("passreset help: exit %d, does not say %q:\n%s", code, want, out)
		}
	}
}
