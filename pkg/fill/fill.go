// Package fill renders the mails and the reset page: texts with {{.Name}}
// holes and nothing else, filled with strings.
//
// Why not text/template or html/template: both find methods by name at run
// time (reflect.Value.MethodByName), and a binary that can do that must keep
// every exported method of every type it links. For the AWS SDK's clients
// that is every API operation: linking either package made each bootstrap
// 6 MB larger (16.1 MB against 10.1 MB) and its cold start about a tenth
// slower (docs/performance.md). A language of holes also keeps a team's own
// templates free of logic.
//
// An HTML template is checked when it is parsed, so that filling it cannot
// make markup (see ParseHTML).
package fill

import (
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// Template is a parsed text: literal parts and the holes between them.
type Template struct {
	name  string
	parts []string // parts[i] comes before holes[i]; one more part than holes
	holes []hole
	html  bool // parsed by ParseHTML: values are escaped for their place
}

// hole is one {{.Name}} and the context it is in, which says how a value
// is written there.
type hole struct {
	name string
	in   context
}

// context is where in an HTML document a hole is.
type context int

const (
	inText      context = iota // plain text: a text template's holes, an HTML element's text
	inAttribute                // a quoted attribute value
	inURL                      // a quoted href, src or action value
	inTag                      // between attributes: only attributes of a fixed form may go here
)

// The patterns are compiled on first use, not at cold start: an instance
// that sends no mail and shows no page never pays for them.
var (
	holePattern       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{\.([A-Za-z][A-Za-z0-9]*)\}\}`) })
	attributesPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?: [a-z][a-z-]*(?:="[a-z0-9 -]*")?)*$`) })
)

// Parse parses a text template: its values are written as they are.
func Parse(name, src string) (*Template, error) {
	t := &Template{name: name}
	last := 0
	for _, m := range holePattern().FindAllStringSubmatchIndex(src, -1) {
		t.parts = append(t.parts, src[last:m[0]])
		t.holes = append(t.holes, hole{name: src[m[2]:m[3]]})
		last = m[1]
	}
	t.parts = append(t.parts, src[last:])
	for i, p := range t.parts {
		if strings.Contains(p, "{{") || strings.Contains(p, "}}") {
			return nil, fmt.Errorf("%s: part %d: only {{.Name}} holes are allowed", name, i)
		}
	}
	return t, nil
}

// ParseHTML parses an HTML template and places each hole:
//   - in an element's text or a quoted attribute's value, a value is
//     HTML-escaped;
//   - in a quoted href, src or action, a value must also be an http or https
//     URL (or empty);
//   - between a tag's attributes, a value may only be attributes of the form
//     ` name` or ` name="word"` (a view's hidden, aria-invalid="true"),
//     never anything from a user.
//
// A hole anywhere else (a script, a style, a comment, an unquoted or event
// handler attribute) is an error.
func ParseHTML(name, src string) (*Template, error) {
	t, err := Parse(name, src)
	if err != nil {
		return nil, err
	}
	var s scanner
	for i, p := range t.parts[:len(t.parts)-1] {
		s.scan(p)
		in, err := s.holeContext()
		if err != nil {
			return nil, fmt.Errorf("%s: {{.%s}}: %w", name, t.holes[i].name, err)
		}
		t.holes[i].in = in
	}
	t.html = true
	return t, nil
}

// MustParseHTML is ParseHTML for templates embedded in the binary, which a
// test parses.
func MustParseHTML(name, src string) *Template {
	t, err := ParseHTML(name, src)
	if err != nil {
		panic(err)
	}
	return t
}

// MustParse is Parse for templates embedded in the binary.
func MustParse(name, src string) *Template {
	t, err := Parse(name, src)
	if err != nil {
		panic(err)
	}
	return t
}

// Holes names the template's holes in order, repeats included.
func (t *Template) Holes() []string {
	names := make([]string, len(t.holes))
	for i, h := range t.holes {
		names[i] = h.name
	}
	return names
}

// Fill writes the template with each hole's value from values. Every hole
// must have a value; values the template has no hole for are ignored.
func (t *Template) Fill(values map[string]string) (string, error) {
	var b strings.Builder
	for i, h := range t.holes {
		b.WriteString(t.parts[i])
		v, ok := values[h.name]
		if !ok {
			return "", fmt.Errorf("%s: no value for {{.%s}}", t.name, h.name)
		}
		switch h.in {
		case inText:
			if t.html {
				v = html.EscapeString(v)
			}
		case inAttribute:
			v = html.EscapeString(v)
		case inURL:
			if v != "" {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
					return "", fmt.Errorf("%s: {{.%s}} is not an http(s) URL", t.name, h.name)
				}
			}
			v = html.EscapeString(v)
		case inTag:
			if !attributesPattern().MatchString(v) {
				return "", fmt.Errorf("%s: {{.%s}} is not a fixed attribute list", t.name, h.name)
			}
		}
		b.WriteString(v)
	}
	b.WriteString(t.parts[len(t.parts)-1])
	return b.String(), nil
}
