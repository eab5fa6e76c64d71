package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/config"
)

func TestBrandingValues(t *testing.T) {
	c, err := config.Load(getenv(with(map[string]string{
		"APP_NAME": "Acme", "MAIL_FROM_NAME": "Acme Support", "SUPPORT_EMAIL": "help@acme.test",
		"LOGO_URL": "https://cdn.acme.test/logo.png", "DEFAULT_LANGUAGE": "de-AT", "USERS_LANGUAGE_ATTRIBUTE": "lang",
	})))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Mail
	if m.AppName != "Acme" || m.SenderName != "Acme Support" || m.SupportAddress != "help@acme.test" || m.LogoURL != "https://cdn.acme.test/logo.png" {
		t.Errorf("Mail = %+v", m)
	}
	if m.DefaultLanguage != "de" {
		t.Errorf("DefaultLanguage = %q for de-AT, want de", m.DefaultLanguage)
	}
	if c.Users.LanguageAttribute != "lang" {
		t.Errorf("Users.LanguageAttribute = %q, want lang", c.Users.LanguageAttribute)
	}
	if m.Templates != nil {
		t.Error("Templates set without MAIL_TEMPLATES_DIR")
	}
}

func TestBrandingDefaults(t *testing.T) {
	c, err := config.Load(getenv(minimal()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mail.DefaultLanguage != "en" || c.Users.LanguageAttribute != "locale" || c.Mail.SenderName != "" || c.Mail.SupportAddress != "" || c.Mail.LogoURL != "" {
		t.Errorf("defaults: DefaultLanguage %q, LanguageAttribute %q, Mail %+v", c.Mail.DefaultLanguage, c.Users.LanguageAttribute, c.Mail)
	}
	c, err = config.LoadEnv(func(name string) (string, bool) {
		if name == "USERS_LANGUAGE_ATTRIBUTE" {
			return "", true
		}
		v, ok := minimal()[name]
		return v, ok
	})
	if err != nil || c.Users.LanguageAttribute != "" {
		t.Errorf("USERS_LANGUAGE_ATTRIBUTE set empty: %q, %v; want none", c.Users.LanguageAttribute, err)
	}
}

func TestBrandingBadValue(t *testing.T) {
	for _, tt := range []struct {
		name, variable, value string
	}{
		{"logo over http", "LOGO_URL", "http://cdn.acme.test/logo.png"},
		{"logo relative", "LOGO_URL", "/logo.png"},
		{"logo javascript", "LOGO_URL", "javascript:alert(1)"},
		{"logo host adding a CSP directive", "LOGO_URL", "https://cdn.acme.test;script-src/logo.png"},
		{"logo host adding a CSP source", "LOGO_URL", "https://cdn.acme.test'unsafe-inline'/logo.png"},
		{"logo host with a percent", "LOGO_URL", "https://cdn%2Eacme.test/logo.png"},
		{"support with a name", "SUPPORT_EMAIL", "Help <help@acme.test>"},
		{"support not an address", "SUPPORT_EMAIL", "acme support"},
		{"sender name with a line break", "MAIL_FROM_NAME", "Acme\nBcc: eve@example.test"},
		{"app name with a line break", "APP_NAME", "Acme\r\nX: y"},
		{"default language with no mails", "DEFAULT_LANGUAGE", "it"},
		{"default language malformed", "DEFAULT_LANGUAGE", "<en>"},
		{"templates dir missing", "MAIL_TEMPLATES_DIR", "/nonexistent/passreset-templates"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(getenv(with(map[string]string{tt.variable: tt.value})))
			if err == nil || !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("%s=%q: err = %v, want one naming %s", tt.variable, tt.value, err, tt.variable)
			}
		})
	}
}

// TestMailTemplatesDir: an override directory is read at cold start; one
// file overrides, a broken one stops the start naming the variable and
// the file, and a language it adds can be the default.
func TestMailTemplatesDir(t *testing.T) {
	dir := t.TempDir()
	write := func(file, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, file)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, file), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("de/code.txt", "Subject: Code für {{.App}}\n\n{{.Code}}\n")
	c, err := config.Load(getenv(with(map[string]string{"MAIL_TEMPLATES_DIR": dir})))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mail.Templates == nil || !slices.Equal(c.Mail.Templates.Languages(), []string{"de", "en", "es", "fr"}) {
		t.Fatalf("Templates = %v", c.Mail.Templates)
	}

	write("de/code.html", "<p>{{.Password}}</p>")
	_, err = config.Load(getenv(with(map[string]string{"MAIL_TEMPLATES_DIR": dir})))
	if err == nil || !strings.Contains(err.Error(), "MAIL_TEMPLATES_DIR") || !strings.Contains(err.Error(), "de/code.html") {
		t.Errorf("a broken override: err = %v, want it to name MAIL_TEMPLATES_DIR and de/code.html", err)
	}
}
