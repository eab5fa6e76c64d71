// Package ses sends the service's mails through Amazon SES v2 SendEmail,
// each with a plain-text and an HTML part rendered from the templates
// embedded beside this file (or a team's own, see LoadTemplates), in the
// reader's language.
package ses

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/language"
	"github.com/passreset/passreset/pkg/reset"
)

// API is the part of the SES v2 client the mailer calls.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, opts ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Settings say who the mail is from, what it calls the app, and how it
// looks.
type Settings struct {
	From string // a verified SES identity, e.g. "no-reply@example.com"
	// SenderName is the From display name ("Acme"); "" sends the address
	// alone.
	SenderName string
	AppName    string
	// SupportAddress is where the mails tell a worried reader to write;
	// "" leaves the line out.
	SupportAddress string
	// LogoURL is an https image shown at the top of the HTML part; ""
	// for none.
	LogoURL string
	// DefaultLanguage is the mails' language when neither the account nor
	// the request names one there are texts for.
	DefaultLanguage string
	// ConfigurationSet is an optional SES configuration set (for event
	// publishing); empty for none.
	ConfigurationSet string
	// Templates are the embedded mails with a team's overrides
	// (LoadTemplates, at cold start); nil for the embedded ones alone.
	Templates *Templates
}

// Mailer implements reset.Mailer.
type Mailer struct {
	api      API
	settings Settings
}

var _ reset.Mailer = (*Mailer)(nil)

// New returns a Mailer that sends through api.
func New(api API, settings Settings) *Mailer {
	if settings.DefaultLanguage == "" {
		settings.DefaultLanguage = "en"
	}
	return &Mailer{api: api, settings: settings}
}

// mail is what the templates' holes are filled with.
type mail map[string]string

// SendCode mails a one-time code.
func (m *Mailer) SendCode(ctx context.Context, to reset.Recipient, code reset.Code, ttl time.Duration) error {
	return m.send(ctx, to, "code", mail{"Code": code.Reveal(), "Minutes": minutes(ttl)})
}

// SendLink mails a reset link.
func (m *Mailer) SendLink(ctx context.Context, to reset.Recipient, link string, ttl time.Duration) error {
	return m.send(ctx, to, "link", mail{"Link": link, "Minutes": minutes(ttl)})
}

// SendPasswordChanged mails the notice that follows every reset.
func (m *Mailer) SendPasswordChanged(ctx context.Context, to reset.Recipient, at time.Time) error {
	return m.send(ctx, to, "changed", mail{"At": ""}, func(lang string, data mail) { data["At"] = dateTime(lang, at) })
}

// SendGuessingNotice tells the owner that the account's code budget was
// spent by wrong guesses, that nothing changed, and that a link still works.
func (m *Mailer) SendGuessingNotice(ctx context.Context, to reset.Recipient) error {
	return m.send(ctx, to, "guessing", mail{})
}

// rendered is one mail as it is sent.
type rendered struct {
	Language, Subject, Text, HTML string
}

func (m *Mailer) send(ctx context.Context, to reset.Recipient, name string, data mail, localize ...func(lang string, data mail)) error {
	r, err := m.render(to, name, data, localize...)
	if err != nil {
		return err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.from()),
		// One recipient, read from the account by the caller: never a
		// list, never an address from the request.
		Destination: &types.Destination{ToAddresses: []string{to.Email}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(r.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String(r.Text), Charset: aws.String("UTF-8")},
				Html: &types.Content{Data: aws.String(r.HTML), Charset: aws.String("UTF-8")},
			},
		}},
	}
	if m.settings.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(m.settings.ConfigurationSet)
	}
	if _, err := m.api.SendEmail(ctx, in); err != nil {
		return newMailError(name, to.Email, err)
	}
	return nil
}

// render writes mail name for to, in the language chosen for it: the
// account's, then the request's Accept-Language, then the default.
func (m *Mailer) render(to reset.Recipient, name string, data mail, localize ...func(lang string, data mail)) (rendered, error) {
	parsed := m.settings.Templates
	if parsed == nil {
		var err error
		if parsed, err = embeddedTemplates(); err != nil {
			return rendered{}, fmt.Errorf("parse the mails: %w", err)
		}
	}
	lang := language.Choose(parsed.languages, m.settings.DefaultLanguage, to.Language, to.AcceptLanguage)
	set, ok := parsed.byLanguage[lang]
	if !ok {
		return rendered{}, fmt.Errorf("no mails in %q", lang)
	}
	for _, l := range localize {
		l(lang, data)
	}
	data["App"] = m.settings.AppName
	data["Logo"], data["LogoAlt"], data["LogoHidden"] = m.settings.LogoURL, m.settings.AppName, ""
	if m.settings.LogoURL == "" {
		// An image with no source, hidden and sized to nothing for the
		// mail clients that ignore hidden: fill has no conditionals.
		data["LogoAlt"], data["LogoHidden"] = "", ` hidden width="0" height="0"`
	}
	data["SupportLine"] = ""
	if m.settings.SupportAddress != "" {
		line, err := set.support.Fill(mail{"App": m.settings.AppName, "Support": m.settings.SupportAddress})
		if err != nil {
			return rendered{}, fmt.Errorf("render %s/support: %w", lang, err)
		}
		data["SupportLine"] = line
	}
	t := set.mails[name]
	r := rendered{Language: lang}
	var err error
	if r.Subject, err = t.subject.Fill(data); err != nil {
		return rendered{}, fmt.Errorf("render %s subject: %w", name, err)
	}
	// A subject is one header line: a line break in a value would start
	// another header.
	if strings.ContainsAny(r.Subject, "\r\n") {
		return rendered{}, fmt.Errorf("render %s subject: a value holds a line break", name)
	}
	if r.Text, err = t.text.Fill(data); err != nil {
		return rendered{}, fmt.Errorf("render %s text: %w", name, err)
	}
	if r.HTML, err = t.html.Fill(data); err != nil {
		return rendered{}, fmt.Errorf("render %s html: %w", name, err)
	}
	return r, nil
}

// from is the From header: the address, with the sender's name when there
// is one (RFC 5322, encoded per RFC 2047 where it is not ASCII).
func (m *Mailer) from() string {
	if m.settings.SenderName == "" {
		return m.settings.From
	}
	return (&netmail.Address{Name: m.settings.SenderName, Address: m.settings.From}).String()
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
