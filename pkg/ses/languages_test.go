package ses_test

import (
	"context"
	"html"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/ses"
)

// languages are the ones the service ships texts for.
var languages = []string{"de", "en", "es", "fr"}

// hostile is branding a careless or malicious setting could carry: every
// value that reaches the HTML part must arrive escaped.
var hostile = ses.Settings{
	From:           "no-reply@example.test",
	SenderName:     `Acme "Support" <script>`,
	AppName:        `<script>alert(1)</script> "Acme" & Co`,
	SupportAddress: `"help"<script>@example.test`,
	LogoURL:        `https://cdn.example.test/logo.png?a=1&b="x"`,
}

// allMails are the four sends, each for a recipient.
var allMails = []struct {
	name string
	send func(m *ses.Mailer, to reset.Recipient) error
	// want are values the mail must carry in both parts.
	want []string
}{
	{"code", func(m *ses.Mailer, to reset.Recipient) error {
		return m.SendCode(context.Background(), to, reset.Code("048213"), 10*time.Minute)
	}, []string{"048213", "10"}},
	{"link", func(m *ses.Mailer, to reset.Recipient) error {
		return m.SendLink(context.Background(), to, link, 60*time.Minute)
	}, []string{"60"}},
	{"changed", func(m *ses.Mailer, to reset.Recipient) error {
		return m.SendPasswordChanged(context.Background(), to, time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	}, []string{"2025"}}, // and the time, as changedAt has it
	{"guessing", func(m *ses.Mailer, to reset.Recipient) error {
		return m.SendGuessingNotice(context.Background(), to)
	}, []string{"24"}},
}

// changedAt is the time of allMails' changed mail as each language
// writes it (dates_test.go has the rules).
var changedAt = map[string]string{"en": "05:06", "de": "05:06", "fr": "5\u00a0h\u00a006", "es": "a las 5:06"}

// sent sends one mail and returns its subject and parts.
func sent(t *testing.T, s ses.Settings, send func(m *ses.Mailer, to reset.Recipient) error, to reset.Recipient) (subject, text, htm string) {
	t.Helper()
	api := &fakeSES{}
	if err := send(ses.New(api, s), to); err != nil {
		t.Fatalf("send: %v", err)
	}
	if len(api.sent) != 1 {
		t.Fatalf("SendEmail calls = %d; want 1", len(api.sent))
	}
	text, htm = parts(api.sent[0])
	return aws.ToString(api.sent[0].Content.Simple.Subject.Data), text, htm
}

func TestEmbeddedLanguages(t *testing.T) {
	tmpl, err := ses.LoadTemplates(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Languages(); !slices.Equal(got, languages) {
		t.Errorf("Languages() = %q, want %q", got, languages)
	}
}

// TestEveryMailEveryLanguage renders each template in each language with
// hostile branding: no hole left, nothing unescaped, every value there,
// and each language's own text.
func TestEveryMailEveryLanguage(t *testing.T) {
	for _, m := range allMails {
		texts := map[string]string{}
		for _, lang := range languages {
			t.Run(m.name+"/"+lang, func(t *testing.T) {
				subject, text, htm := sent(t, hostile, m.send, reset.Recipient{Email: to, Language: lang})
				texts[lang] = text
				if subject == "" || strings.ContainsAny(subject, "\r\n") || strings.Contains(subject, "{{") {
					t.Errorf("subject %q: want one filled line", subject)
				}
				if m.name != "guessing" && !strings.Contains(subject, hostile.AppName) {
					t.Errorf("subject %q does not name the app", subject)
				}
				if strings.Contains(subject, "048213") {
					t.Errorf("subject %q holds the code", subject)
				}
				for part, body := range map[string]string{"text": text, "html": htm} {
					if strings.Contains(body, "{{") || strings.Contains(body, "}}") {
						t.Errorf("%s part holds an unfilled hole:\n%s", part, body)
					}
					if strings.HasPrefix(body, "Subject:") {
						t.Errorf("%s part starts with the subject line", part)
					}
					want := m.want
					if m.name == "changed" {
						want = append(slices.Clone(want), changedAt[lang])
					}
					for _, w := range want {
						if !strings.Contains(body, w) {
							t.Errorf("%s part lacks %q:\n%s", part, w, body)
						}
					}
				}
				if !strings.Contains(htm, `<html lang="`+lang+`">`) {
					t.Errorf("html part is not marked lang=%q", lang)
				}
				for _, raw := range []string{"<script>", `"Acme"`, `"help"`, `b="x"`} {
					if strings.Contains(htm, raw) {
						t.Errorf("html part holds %q unescaped:\n%s", raw, htm)
					}
				}
				for _, v := range []string{hostile.AppName, hostile.SupportAddress, hostile.LogoURL} {
					if !strings.Contains(htm, html.EscapeString(v)) {
						t.Errorf("html part lacks %q escaped:\n%s", v, htm)
					}
				}
				for _, v := range []string{hostile.AppName, hostile.SupportAddress} {
					if !strings.Contains(text, v) {
						t.Errorf("text part lacks %q as it is:\n%s", v, text)
					}
				}
				if m.name == "link" {
					if !strings.Contains(text, link) || !strings.Contains(htm, `href="`+html.EscapeString(link)+`"`) {
						t.Errorf("link missing: text has it raw %v, html has it escaped in an href %v",
							strings.Contains(text, link), strings.Contains(htm, `href="`+html.EscapeString(link)+`"`))
					}
				}
			})
		}
		// A language that fell back to another would repeat its text.
		for _, a := range languages {
			for _, b := range languages {
				if a < b && texts[a] == texts[b] {
					t.Errorf("%s: the %s and %s texts are the same", m.name, a, b)
				}
			}
		}
	}
}

// TestBrandingLeftOut: without a support address or a logo, no line or
// image is shown for them.
func TestBrandingLeftOut(t *testing.T) {
	s := ses.Settings{From: "no-reply@example.test", AppName: "Acme"}
	for _, lang := range languages {
		_, text, htm := sent(t, s, allMails[0].send, reset.Recipient{Email: to, Language: lang})
		if !strings.Contains(htm, `src="" alt="" style="max-height: 48px; border: 0; margin-bottom: 1rem;" hidden width="0" height="0">`) {
			t.Errorf("%s: want a hidden, empty logo:\n%s", lang, htm)
		}
		if strings.Contains(text, "@") || strings.Contains(htm, "@") {
			t.Errorf("%s: a support line without a support address:\n%s", lang, text)
		}
	}
}

func TestSenderName(t *testing.T) {
	for name, tt := range map[string]struct{ sender, want string }{
		"none":      {"", "no-reply@example.test"},
		"plain":     {"Acme", `"Acme" <no-reply@example.test>`},
		"not ASCII": {"Café Acme", "=?utf-8?q?Caf=C3=A9_Acme?= <no-reply@example.test>"},
	} {
		t.Run(name, func(t *testing.T) {
			api := &fakeSES{}
			m := ses.New(api, ses.Settings{From: "no-reply@example.test", SenderName: tt.sender, AppName: "Acme"})
			if err := m.SendGuessingNotice(context.Background(), rcpt); err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(api.sent[0].FromEmailAddress); got != tt.want {
				t.Errorf("From = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSubjectLineBreak: a value that would break the subject line is
// refused before SES is called.
func TestSubjectLineBreak(t *testing.T) {
	api := &fakeSES{}
	m := ses.New(api, ses.Settings{From: "no-reply@example.test", AppName: "Acme\r\nBcc: eve@example.test"})
	if err := m.SendCode(context.Background(), rcpt, reset.Code("048213"), time.Minute); err == nil {
		t.Error("no error for an app name with a line break")
	}
	if len(api.sent) != 0 {
		t.Errorf("SendEmail calls = %d, want 0", len(api.sent))
	}
}

// TestMailLanguageChoice: the account's language, then the request's
// Accept-Language, then the default; what has no texts falls through.
func TestMailLanguageChoice(t *testing.T) {
	for _, tt := range []struct {
		name                string
		account, accept     string
		defaultLang, wanted string
	}{
		{"account first", "de", "fr, es", "", "de"},
		{"account's region", "es-MX", "de", "", "es"},
		{"header when the account has none", "", "fr-CA, de;q=0.8", "", "fr"},
		{"header by quality", "", "de;q=0.5, es;q=0.9", "", "es"},
		{"unsupported account, then header", "it", "ja, de;q=0.1", "", "de"},
		{"nothing served: default", "it", "ja", "fr", "fr"},
		{"nothing at all: en", "", "", "", "en"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := settings
			s.DefaultLanguage = tt.defaultLang
			_, _, htm := sent(t, s, allMails[3].send, reset.Recipient{Email: to, Language: tt.account, AcceptLanguage: tt.accept})
			if !strings.Contains(htm, `<html lang="`+tt.wanted+`">`) {
				t.Errorf("account %q, Accept-Language %q: want the mail in %s:\n%s", tt.account, tt.accept, tt.wanted, htm)
			}
		})
	}
}

// override is a team's template for the German code mail.
const overrideCode = "Subject: Dein Code für {{.App}}\n\nHallo! Dein Code: {{.Code}}\n"

func TestOverrideOneFile(t *testing.T) {
	dir := fstest.MapFS{"de/code.txt": {Data: []byte(overrideCode)}}
	tmpl, err := ses.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := settings
	s.Templates = tmpl
	de := reset.Recipient{Email: to, Language: "de"}
	subject, text, htm := sent(t, s, allMails[0].send, de)
	if subject != "Dein Code für Acme" || text != "Hallo! Dein Code: 048213\n" {
		t.Errorf("overridden de/code.txt: subject %q, text %q", subject, text)
	}
	if !strings.Contains(htm, "Ihr Code zum Zurücksetzen") {
		t.Errorf("de/code.html, not overridden, is not the embedded one:\n%s", htm)
	}
	if _, text, _ := sent(t, s, allMails[1].send, de); !strings.Contains(text, "Für Ihr Konto bei Acme") {
		t.Errorf("de/link.txt, not overridden, is not the embedded one:\n%s", text)
	}
	if subject, _, _ := sent(t, s, allMails[0].send, rcpt); subject != "Your Acme password reset code" {
		t.Errorf("en/code.txt, not overridden: subject %q", subject)
	}
}

// TestOverrideNewLanguage: a language a team adds must come whole.
func TestOverrideNewLanguage(t *testing.T) {
	it := fstest.MapFS{}
	for _, f := range []string{"code", "link", "changed", "guessing"} {
		it["it/"+f+".txt"] = &fstest.MapFile{Data: []byte("Subject: Oggetto " + f + "\n\nTesto {{.App}} " + map[string]string{"code": "{{.Code}}", "link": "{{.Link}}"}[f] + "\n")}
		it["it/"+f+".html"] = &fstest.MapFile{Data: []byte(`<!doctype html><html lang="it"><p>` + map[string]string{"code": "{{.Code}}", "link": `<a href="{{.Link}}">apri</a>`}[f] + "</p></html>\n")}
	}
	it["it/support.txt"] = &fstest.MapFile{Data: []byte("Scrivi a {{.Support}}.\n")}
	tmpl, err := ses.LoadTemplates(it)
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Languages(); !slices.Contains(got, "it") {
		t.Fatalf("Languages() = %q, want it among them", got)
	}
	s := settings
	s.Templates = tmpl
	if subject, _, _ := sent(t, s, allMails[0].send, reset.Recipient{Email: to, AcceptLanguage: "it-IT"}); subject != "Oggetto code" {
		t.Errorf("subject %q, want the Italian override", subject)
	}

	delete(it, "it/guessing.html")
	if _, err := ses.LoadTemplates(it); err == nil || !strings.Contains(err.Error(), "it/guessing.html") {
		t.Errorf("a new language without guessing.html: err = %v, want it named", err)
	}
}

// TestOverrideRefused: a broken override is an error when loaded (at cold
// start), naming the file.
func TestOverrideRefused(t *testing.T) {
	for _, tt := range []struct {
		name, file, src, want string
	}{
		{"no subject line", "de/code.txt", "Dein Code: {{.Code}}\n", "de/code.txt"},
		{"unknown hole", "fr/link.txt", "Subject: x\n\n{{.Link}} {{.Password}}\n", "{{.Password}}"},
		{"the code left out", "es/code.html", "<p>Hola</p>", "{{.Code}}"},
		{"the link left out", "en/link.txt", "Subject: x\n\nno link\n", "{{.Link}}"},
		{"hole in a script", "en/changed.html", "<script>var at = '{{.At}}';</script>", "script"},
		{"hole in a style attribute", "de/guessing.html", `<p style="color: {{.App}}">x</p>`, "style"},
		{"template syntax", "fr/changed.txt", "Subject: x\n\n{{if .At}}{{.At}}{{end}}\n", "fr/changed.txt"},
		{"a lone CR in a subject", "de/code.txt", "Subject: Code\rBcc: eve@example.test\n\n{{.Code}}\n", "de/code.txt"},
		{"a tab in a subject", "fr/link.txt", "Subject: x\ty\n\n{{.Link}}\n", "fr/link.txt"},
		{"support line of two lines", "en/support.txt", "Write to\n{{.Support}}\n", "support.txt"},
		{"support line without the address", "en/support.txt", "Write to us.\n", "{{.Support}}"},
		{"a misspelt file", "de/cod.txt", "Subject: x\n\n{{.Code}}\n", "de/cod.txt"},
		{"a file outside a language", "code.txt", "Subject: x\n\n{{.Code}}\n", "code.txt"},
		{"a directory that is no language", "templates/code.txt", "Subject: x\n\n{{.Code}}\n", "templates"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ses.LoadTemplates(fstest.MapFS{tt.file: {Data: []byte(tt.src)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}
