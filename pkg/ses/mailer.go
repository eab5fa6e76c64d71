// Package ses sends the service's three mails through Amazon SES v2
// SendEmail, each with a plain-text and an HTML part rendered from the
// templates embedded beside this file.
package ses

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/fill"
	"github.com/passreset/passreset/pkg/reset"
)

// API is the part of the SES v2 client the mailer calls.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Settings say who the mail is from and what it calls the app.
type Settings struct {
	From    string // a verified SES identity, e.g. "no-reply@example.com"
	AppName string
	// ConfigurationSet is an optional SES configuration set (for event
	// publishing); empty for none.
	ConfigurationSet string
}

// Mailer implements reset.Mailer.
type Mailer struct {
	api      API
	settings Settings
}

var _ reset.Mailer = (*Mailer)(nil)

// New returns a Mailer that sends through api.
func New(api API, settings Settings) *Mailer {
	return &Mailer{api: api, settings: settings}
}

//go:embed templates
var files embed.FS

// mailNames are the mails: templates/<name>.txt and templates/<name>.html.
var mailNames = []string{"code", "link", "changed", "guessing"}

// template is one mail's two parts.
type template struct{ text, html *fill.Template }

// templates are parsed on the first mail, not at cold start: an instance
// that only answers bad requests or wrong guesses never pays for them.
var templates = sync.OnceValues(func() (map[string]template, error) {
	parsed := map[string]template{}
	for _, name := range mailNames {
		text, err := files.ReadFile("templates/" + name + ".txt")
		if err != nil {
			return nil, err
		}
		html, err := files.ReadFile("templates/" + name + ".html")
		if err != nil {
			return nil, err
		}
		var t template
		if t.text, err = fill.Parse(name+".txt", string(text)); err != nil {
			return nil, err
		}
		if t.html, err = fill.ParseHTML(name+".html", string(html)); err != nil {
			return nil, err
		}
		parsed[name] = t
	}
	return parsed, nil
})

// mail is what the templates' holes are filled with.
type mail map[string]string

// SendCode mails a one-time code.
func (m *Mailer) SendCode(ctx context.Context, to string, code reset.Code, ttl time.Duration) error {
	return m.send(ctx, to, "code", fmt.Sprintf("Your %s password reset code", m.settings.AppName),
		mail{"Code": code.Reveal(), "Minutes": minutes(ttl)})
}

// SendLink mails a reset link.
func (m *Mailer) SendLink(ctx context.Context, to, link string, ttl time.Duration) error {
	return m.send(ctx, to, "link", fmt.Sprintf("Reset your %s password", m.settings.AppName),
		mail{"Link": link, "Minutes": minutes(ttl)})
}

// SendPasswordChanged mails the notice that follows every reset.
func (m *Mailer) SendPasswordChanged(ctx context.Context, to string, at time.Time) error {
	return m.send(ctx, to, "changed", fmt.Sprintf("Your %s password was changed", m.settings.AppName),
		mail{"At": at.UTC().Format("2 January 2006 at 15:04 UTC")})
}

// SendGuessingNotice tells the owner that the account's code budget was
// spent by wrong guesses, that nothing changed, and that a link still works.
func (m *Mailer) SendGuessingNotice(ctx context.Context, to string) error {
	return m.send(ctx, to, "guessing", "Someone tried to reset your password", mail{})
}

func (m *Mailer) send(ctx context.Context, to, name, subject string, data mail) error {
	data["App"] = m.settings.AppName
	parsed, err := templates()
	if err != nil {
		return fmt.Errorf("parse the mails: %w", err)
	}
	text, err := parsed[name].text.Fill(data)
	if err != nil {
		return fmt.Errorf("render %s text: %w", name, err)
	}
	html, err := parsed[name].html.Fill(data)
	if err != nil {
		return fmt.Errorf("render %s html: %w", name, err)
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.settings.From),
		// One recipient, read from the account by the caller: never a
		// list, never an address from the request.
		Destination: &types.Destination{ToAddresses: []string{to}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(html), Charset: aws.String("UTF-8")},
			},
		}},
	}
	if m.settings.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(m.settings.ConfigurationSet)
	}
	if _, err := m.api.SendEmail(ctx, in); err != nil {
		return newMailError(name, to, err)
	}
	return nil
}

// minutes is a lifetime as the mails state it.
func minutes(ttl time.Duration) string { return strconv.Itoa(int(ttl.Minutes())) }

// mailError is a failed send as it may be logged. SES's messages name the
// recipient ("... failed the check in region US-EAST-1: alice@example.com"),
// and an address has no place in a log line: the error reads as SES's error
// code, or, for an error that has none, its message with the recipient
// taken out. Unwrap still gives the SDK's error to whoever needs it.
type mailError struct {
	mail string
	msg  string // the error as it may be logged, worked out once
	err  error
}

func newMailError(mail, to string, err error) *mailError {
	var api smithy.APIError
	if errors.As(err, &api) {
		return &mailError{mail: mail, msg: api.ErrorCode(), err: err}
	}
	msg := err.Error()
	if to != "" {
		// In any case: a relay may echo the address as it likes.
		msg = regexp.MustCompile("(?i)"+regexp.QuoteMeta(to)).ReplaceAllLiteralString(msg, "[recipient]")
	}
	return &mailError{mail: mail, msg: msg, err: err}
}

func (e *mailError) Error() string { return "send " + e.mail + " mail: " + e.msg }

func (e *mailError) Unwrap() error { return e.err }
