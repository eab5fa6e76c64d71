package ses_test

import (
	"context"
	"errors"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/ses"
)

// fakeSES is a hand-written SES v2 client that records what it was asked to
// send and answers with err.
type fakeSES struct {
	sent []*sesv2.SendEmailInput
	err  error
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.sent = append(f.sent, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sesv2.SendEmailOutput{MessageId: aws.String("m-1")}, nil
}

var settings = ses.Settings{From: "no-reply@example.test", AppName: "Acme"}

const to = "alice@example.test"

// rcpt names no language: the mails are in the default, English.
var rcpt = reset.Recipient{Email: to}

// A link with characters HTML must escape.
const link = `https://app.example.test/reset?token=abc123&next="/home"`

// mails are the three sends that name the app in their subject, each as a call on a Mailer.
var mails = []struct {
	name string
	send func(m *ses.Mailer) error
}{
	{"SendCode", func(m *ses.Mailer) error {
		return m.SendCode(context.Background(), rcpt, reset.Code("048213"), 10*time.Minute)
	}},
	{"SendLink", func(m *ses.Mailer) error {
		return m.SendLink(context.Background(), rcpt, link, 60*time.Minute)
	}},
	{"SendPasswordChanged", func(m *ses.Mailer) error {
		return m.SendPasswordChanged(context.Background(), rcpt, time.Date(2025, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600)))
	}},
}

// sendOne sends one mail through a fresh fake and returns what SES got.
func sendOne(t *testing.T, s ses.Settings, send func(m *ses.Mailer) error) *sesv2.SendEmailInput {
	t.Helper()
	api := &fakeSES{}
	if err := send(ses.New(api, s)); err != nil {
		t.Fatalf("send: %v", err)
	}
	if len(api.sent) != 1 {
		t.Fatalf("SendEmail calls = %d; want 1", len(api.sent))
	}
	return api.sent[0]
}

func TestMailShape(t *testing.T) {
	for _, tt := range mails {
		t.Run(tt.name, func(t *testing.T) {
			in := sendOne(t, settings, tt.send)
			if got := aws.ToString(in.FromEmailAddress); got != settings.From {
				t.Errorf("From = %q; want %q", got, settings.From)
			}
			if in.Destination == nil {
				t.Fatalf("Destination is nil; want one To address")
			}
			if got := in.Destination.ToAddresses; len(got) != 1 || got[0] != to {
				t.Errorf("To = %q; want exactly [%q]", got, to)
			}
			if len(in.Destination.CcAddresses) != 0 || len(in.Destination.BccAddresses) != 0 {
				t.Errorf("Cc = %q, Bcc = %q; want none", in.Destination.CcAddresses, in.Destination.BccAddresses)
			}
			if len(in.ReplyToAddresses) != 0 {
				t.Errorf("ReplyTo = %q; want none", in.ReplyToAddresses)
			}
			if in.ConfigurationSetName != nil {
				t.Errorf("ConfigurationSetName = %q without Settings.ConfigurationSet; want nil", aws.ToString(in.ConfigurationSetName))
			}
			if in.Content == nil || in.Content.Simple == nil {
				t.Fatalf("Content.Simple is nil; want a simple message")
			}
			msg := in.Content.Simple
			if msg.Subject == nil || !strings.Contains(aws.ToString(msg.Subject.Data), settings.AppName) {
				t.Errorf("Subject = %v; want it to name %q", msg.Subject, settings.AppName)
			}
			if msg.Subject != nil && aws.ToString(msg.Subject.Charset) != "UTF-8" {
				t.Errorf("Subject charset = %q; want UTF-8", aws.ToString(msg.Subject.Charset))
			}
			if msg.Body == nil || msg.Body.Text == nil || msg.Body.Html == nil {
				t.Fatalf("Body = %+v; want a Text and an Html part", msg.Body)
			}
			for part, c := range map[string]string{
				"Text": aws.ToString(msg.Body.Text.Charset),
				"Html": aws.ToString(msg.Body.Html.Charset),
			} {
				if c != "UTF-8" {
					t.Errorf("%s charset = %q; want UTF-8", part, c)
				}
			}
			text, htm := aws.ToString(msg.Body.Text.Data), aws.ToString(msg.Body.Html.Data)
			if !strings.Contains(text, settings.AppName) || !strings.Contains(htm, settings.AppName) {
				t.Errorf("the app name %q is missing from a part:\ntext: %s\nhtml: %s", settings.AppName, text, htm)
			}
			if strings.Contains(text, "{{") || strings.Contains(htm, "{{") {
				t.Errorf("a part holds an unrendered template action:\ntext: %s\nhtml: %s", text, htm)
			}
		})
	}
}

func TestMailConfigurationSet(t *testing.T) {
	s := settings
	s.ConfigurationSet = "events"
	for _, tt := range mails {
		t.Run(tt.name, func(t *testing.T) {
			in := sendOne(t, s, tt.send)
			if got := aws.ToString(in.ConfigurationSetName); got != "events" {
				t.Errorf("ConfigurationSetName = %q; want %q", got, "events")
			}
		})
	}
}

func parts(in *sesv2.SendEmailInput) (text, htm string) {
	b := in.Content.Simple.Body
	return aws.ToString(b.Text.Data), aws.ToString(b.Html.Data)
}

func TestSendCodeContent(t *testing.T) {
	in := sendOne(t, settings, mails[0].send)
	text, htm := parts(in)
	for name, part := range map[string]string{"text": text, "html": htm} {
		if !strings.Contains(part, "048213") {
			t.Errorf("%s part of the code mail lacks the code 048213 (leading zero kept):\n%s", name, part)
		}
		if !strings.Contains(part, "10 minutes") {
			t.Errorf("%s part of the code mail does not say \"10 minutes\" for a 10m TTL:\n%s", name, part)
		}
	}
	if strings.Contains(aws.ToString(in.Content.Simple.Subject.Data), "048213") {
		t.Errorf("subject %q holds the code; want it only in the body", aws.ToString(in.Content.Simple.Subject.Data))
	}
}

func TestSendLinkContent(t *testing.T) {
	in := sendOne(t, settings, mails[1].send)
	text, htm := parts(in)
	if !strings.Contains(text, link) {
		t.Errorf("text part lacks the link %q as it is:\n%s", link, text)
	}
	if strings.Contains(htm, link) {
		t.Errorf("html part holds the link %q unescaped:\n%s", link, htm)
	}
	if strings.Contains(htm, `"/home"`) {
		t.Errorf("html part holds the link's quotes unescaped, which could end an attribute:\n%s", htm)
	}
	if !strings.Contains(htm, html.EscapeString(link)) {
		t.Errorf("html part lacks the link HTML-escaped as %q:\n%s", html.EscapeString(link), htm)
	}
	if !strings.Contains(htm, `href="https://app.example.test/reset?token=abc123&amp;next=`) {
		t.Errorf("html part lacks an href to the link with & escaped:\n%s", htm)
	}
	for name, part := range map[string]string{"text": text, "html": htm} {
		if !strings.Contains(part, "60 minutes") {
			t.Errorf("%s part of the link mail does not say \"60 minutes\" for a 60m TTL:\n%s", name, part)
		}
	}
}

func TestSendPasswordChangedContent(t *testing.T) {
	in := sendOne(t, settings, mails[2].send)
	text, htm := parts(in)
	// 05:06:07 at UTC+1 is 04:06 UTC.
	const when = "4 March 2025 at 04:06 UTC"
	for name, part := range map[string]string{"text": text, "html": htm} {
		if !strings.Contains(part, when) {
			t.Errorf("%s part of the changed mail lacks %q:\n%s", name, when, part)
		}
	}
}

// TestAppNameEscapedInHTML: the app name is configuration, but the HTML
// part must still escape it.
func TestAppNameEscapedInHTML(t *testing.T) {
	s := settings
	s.AppName = `<b>Acme & Co</b>`
	for _, tt := range mails {
		t.Run(tt.name, func(t *testing.T) {
			in := sendOne(t, s, tt.send)
			text, htm := parts(in)
			if strings.Contains(htm, s.AppName) {
				t.Errorf("html part holds the app name %q unescaped", s.AppName)
			}
			if !strings.Contains(htm, html.EscapeString(s.AppName)) {
				t.Errorf("html part lacks the app name escaped as %q", html.EscapeString(s.AppName))
			}
			if !strings.Contains(text, s.AppName) {
				t.Errorf("text part lacks the app name %q as it is", s.AppName)
			}
		})
	}
}

func TestSendError(t *testing.T) {
	errSES := errors.New("MessageRejected: Email address is not verified")
	for _, tt := range mails {
		t.Run(tt.name, func(t *testing.T) {
			api := &fakeSES{err: errSES}
			err := tt.send(ses.New(api, settings))
			if !errors.Is(err, errSES) {
				t.Fatalf("%s with SES failing = %v; want an error wrapping %v", tt.name, err, errSES)
			}
			if err.Error() == errSES.Error() {
				t.Errorf("%s with SES failing = %q; want context around the SES error", tt.name, err)
			}
			if len(api.sent) != 1 {
				t.Errorf("SendEmail calls = %d; want 1 (no retry inside the mailer)", len(api.sent))
			}
		})
	}
	// The code must not reach the error, which is logged.
	api := &fakeSES{err: errSES}
	err := ses.New(api, settings).SendCode(context.Background(), rcpt, reset.Code("048213"), 10*time.Minute)
	if err == nil || strings.Contains(err.Error(), "048213") {
		t.Errorf("SendCode error = %v; want an error without the code", err)
	}
}

// SES names the recipient in its error messages; a failed send's error,
// which the flows log, must not (it reads as SES's error code), and must
// still unwrap to the SDK's error.
func TestSendErrorNamesNoRecipient(t *testing.T) {
	rejected := &smithy.GenericAPIError{Code: "MessageRejected", Message: "Email address is not verified. The following identities failed the check in region US-EAST-1: " + to}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"API error", rejected, "send code mail: MessageRejected"},
		{"other error naming the address", errors.New("dial tcp: no route for " + strings.ToUpper(to)), "send code mail: dial tcp: no route for [recipient]"},
		{"other error, the address in mixed case", errors.New("relay refused Alice@Example.test"), "send code mail: relay refused [recipient]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := ses.New(&fakeSES{err: tt.err}, settings)
			err := m.SendCode(context.Background(), rcpt, reset.Code("123456"), 10*time.Minute)
			if err == nil {
				t.Fatal("no error")
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error: got %q, want %q", got, tt.want)
			}
			if strings.Contains(strings.ToLower(err.Error()), to) {
				t.Errorf("error %q names the recipient", err)
			}
			if !errors.Is(err, tt.err) {
				t.Error("the error does not unwrap to the SDK's")
			}
		})
	}
}
