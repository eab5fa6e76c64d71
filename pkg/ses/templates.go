package ses

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/passreset/passreset/pkg/fill"
	"github.com/passreset/passreset/pkg/language"
)

// The mails' texts live in templates/<language>/, one directory per
// language, each holding:
//
//	code.txt     code.html       the one-time code
//	link.txt     link.html       the reset link
//	changed.txt  changed.html    the notice that the password was changed
//	guessing.txt guessing.html   the owner's notice that someone tried many codes
//	support.txt                  one line pointing to the support address
//
// A .txt file starts with a "Subject: " line and a blank line; the rest is
// the plain-text part. Holes are {{.Name}} (pkg/fill); which names a mail
// may use is holesOf, and a template that uses another, or leaves out the
// one its mail exists for (the code, the link), is refused when parsed.
//
// The embedded languages are en, es, de and fr. Spanish addresses the
// reader as tú, as consumer apps do; German as Sie and French as vous, as a
// company writes to its customers about their account (French with a
// no-break space before ":", "?" and ";").
//
// A team overrides any of them from a directory of its own in the same
// layout (LoadTemplates): a file there replaces the embedded one, and a
// directory for a language not embedded adds it, whole.

//go:embed templates
var embedded embed.FS

// mailNames are the mails, and supportName the line the mails share.
var mailNames = []string{"code", "link", "changed", "guessing"}

const supportName = "support"

// holesOf lists, per mail, the holes its templates may use; required are
// the ones it must use.
var (
	commonHoles = []string{"App", "Logo", "LogoAlt", "LogoHidden", "SupportLine"}
	holesOf     = map[string][]string{
		"code":     {"Code", "Minutes"},
		"link":     {"Link", "Minutes"},
		"changed":  {"At"},
		"guessing": {},
	}
	required = map[string][]string{"code": {"Code"}, "link": {"Link"}}
)

// mailTemplate is one mail in one language: its subject and two parts.
type mailTemplate struct{ subject, text, html *fill.Template }

// textSet is one language's mails and its support line.
type textSet struct {
	mails   map[string]mailTemplate
	support *fill.Template
}

// Templates are the mails in every language there are texts for.
type Templates struct {
	byLanguage map[string]textSet
	languages  []string // sorted, for Match
}

// Languages lists the languages there are mails in.
func (t *Templates) Languages() []string { return slices.Clone(t.languages) }

// embeddedTemplates are parsed on the first mail, not at cold start: an
// instance that only answers bad requests or wrong guesses never pays for
// them. A test parses them all.
var embeddedTemplates = sync.OnceValues(func() (*Templates, error) { return LoadTemplates(nil) })

// LoadTemplates parses the embedded templates with a team's overrides from
// dir on top, nil for none (see the layout above). Every file of dir must
// be one of the layout's, and a language not embedded must come with all
// of them, so that a typo or a half-written language fails here, at cold
// start, rather than a mail at a request.
func LoadTemplates(dir fs.FS) (*Templates, error) {
	base, err := fs.Sub(embedded, "templates")
	if err != nil {
		return nil, err
	}
	baseLangs, err := languageDirs(base)
	if err != nil {
		return nil, err
	}
	langs := slices.Clone(baseLangs)
	if dir != nil {
		overridden, err := languageDirs(dir)
		if err != nil {
			return nil, err
		}
		for _, l := range overridden {
			if err := checkFiles(dir, l, slices.Contains(baseLangs, l)); err != nil {
				return nil, err
			}
			if !slices.Contains(langs, l) {
				langs = append(langs, l)
			}
		}
	}
	slices.Sort(langs)
	t := &Templates{byLanguage: map[string]textSet{}, languages: langs}
	for _, l := range langs {
		read := func(file string) (string, error) {
			if dir != nil {
				b, err := fs.ReadFile(dir, path.Join(l, file))
				if err == nil {
					return string(b), nil
				}
				if !errors.Is(err, fs.ErrNotExist) {
					return "", fmt.Errorf("%s/%s: %w", l, file, err)
				}
			}
			b, err := fs.ReadFile(base, path.Join(l, file))
			if err != nil {
				return "", fmt.Errorf("%s/%s: %w", l, file, err)
			}
			return string(b), nil
		}
		set, err := parseSet(l, read)
		if err != nil {
			return nil, err
		}
		t.byLanguage[l] = set
	}
	return t, nil
}

// languageDirs lists the language directories at the top of dir; a file
// there, or a directory whose name is no language tag, is an error.
func languageDirs(dir fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil, err
	}
	var langs []string
	for _, e := range entries {
		if !e.IsDir() || !language.Valid(e.Name()) {
			return nil, fmt.Errorf("%s: want only directories named for a language (en, de, pt-BR)", e.Name())
		}
		langs = append(langs, e.Name())
	}
	return langs, nil
}

// checkFiles refuses a file in an override's language directory that is
// not one of the layout's, and, for a language not embedded, a missing
// one.
func checkFiles(dir fs.FS, lang string, embedded bool) error {
	entries, err := fs.ReadDir(dir, lang)
	if err != nil {
		return err
	}
	want := []string{supportName + ".txt"}
	for _, m := range mailNames {
		want = append(want, m+".txt", m+".html")
	}
	var have []string
	for _, e := range entries {
		if e.IsDir() || !slices.Contains(want, e.Name()) {
			return fmt.Errorf("%s/%s: not a template; want only %s", lang, e.Name(), strings.Join(want, ", "))
		}
		have = append(have, e.Name())
	}
	if !embedded {
		for _, w := range want {
			if !slices.Contains(have, w) {
				return fmt.Errorf("%s/%s: missing: %s has no embedded texts, so every file must be there", lang, w, lang)
			}
		}
	}
	return nil
}

// parseSet parses one language's files, read by read.
func parseSet(lang string, read func(file string) (string, error)) (textSet, error) {
	set := textSet{mails: map[string]mailTemplate{}}
	for _, name := range mailNames {
		allowed := append(slices.Clone(commonHoles), holesOf[name]...)
		src, err := read(name + ".txt")
		if err != nil {
			return textSet{}, err
		}
		subject, body, ok := strings.Cut(strings.ReplaceAll(src, "\r\n", "\n"), "\n\n")
		subject, hasPrefix := strings.CutPrefix(subject, "Subject: ")
		if !ok || !hasPrefix || strings.Contains(subject, "\n") {
			return textSet{}, fmt.Errorf("%s/%s.txt: want a first line \"Subject: ...\", then a blank line, then the text", lang, name)
		}
		// A lone \r, a tab or any other control character would reach
		// the mail's Subject header, where the mailer refuses it on
		// every send; refused here, a broken override stops the cold start.
		if i := strings.IndexFunc(subject, unicode.IsControl); i >= 0 {
			return textSet{}, fmt.Errorf("%s/%s.txt: the subject holds the control character %q; want one line of text", lang, name, subject[i:i+1])
		}
		var m mailTemplate
		if m.subject, err = parse(lang, name+".txt subject", subject, fill.Parse, allowed, nil); err != nil {
			return textSet{}, err
		}
		if m.text, err = parse(lang, name+".txt", body, fill.Parse, allowed, required[name]); err != nil {
			return textSet{}, err
		}
		if src, err = read(name + ".html"); err != nil {
			return textSet{}, err
		}
		if m.html, err = parse(lang, name+".html", src, fill.ParseHTML, allowed, required[name]); err != nil {
			return textSet{}, err
		}
		set.mails[name] = m
	}
	src, err := read(supportName + ".txt")
	if err != nil {
		return textSet{}, err
	}
	line := strings.TrimRight(src, "\r\n")
	if strings.Contains(line, "\n") {
		return textSet{}, fmt.Errorf("%s/%s.txt: want one line", lang, supportName)
	}
	if set.support, err = parse(lang, supportName+".txt", line, fill.Parse, []string{"App", "Support"}, []string{"Support"}); err != nil {
		return textSet{}, err
	}
	return set, nil
}

// parse parses one template and checks its holes against allowed and
// required.
func parse(lang, name, src string, parser func(name, src string) (*fill.Template, error), allowed, required []string) (*fill.Template, error) {
	name = lang + "/" + name
	t, err := parser(name, src)
	if err != nil {
		return nil, err
	}
	holes := t.Holes()
	for _, h := range holes {
		if !slices.Contains(allowed, h) {
			return nil, fmt.Errorf("%s: {{.%s}} is not a value this mail has; it may use %s", name, h, holeList(allowed))
		}
	}
	for _, r := range required {
		if !slices.Contains(holes, r) {
			return nil, fmt.Errorf("%s: {{.%s}} is missing; the mail is for it", name, r)
		}
	}
	return t, nil
}

func holeList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{{." + n + "}}")
	}
	return b.String()
}

// EmbeddedLanguages lists the languages the embedded mails are in, without
// parsing them: the names of templates/'s directories.
func EmbeddedLanguages() []string {
	entries, err := embedded.ReadDir("templates")
	if err != nil {
		return nil
	}
	var langs []string
	for _, e := range entries {
		langs = append(langs, e.Name())
	}
	return langs
}
