package fill

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseRefusesAnythingButHoles(t *testing.T) {
	for _, src := range []string{
		"{{if .A}}x{{end}}", "{{.A | html}}", "{{ .A }}", "{{.A.B}}", "{{.}}", "{{.A}", "a }} b", "{{template \"x\"}}",
	} {
		if _, err := Parse("t", src); err == nil {
			t.Errorf("Parse(%q): no error", src)
		}
	}
}

func TestTextTemplateWritesValuesAsTheyAre(t *testing.T) {
	tmpl := MustParse("t", "Hi {{.Name}}, code {{.Code}}; again {{.Name}}.")
	if got, want := tmpl.Holes(), []string{"Name", "Code", "Name"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Holes() = %v, want %v", got, want)
	}
	got, err := tmpl.Fill(map[string]string{"Name": "<b>&", "Code": "123", "Unused": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi <b>&, code 123; again <b>&."; got != want {
		t.Errorf("Fill = %q, want %q", got, want)
	}
	if _, err := tmpl.Fill(map[string]string{"Name": "x"}); err == nil || !strings.Contains(err.Error(), "Code") {
		t.Errorf("a missing value: err = %v, want one naming Code", err)
	}
}

func TestHTMLHolesAreEscapedForTheirPlace(t *testing.T) {
	const evil = `"><script>alert(1)</script>'&`
	cases := []struct {
		name, src string
		value     string
		want      string
		fillErr   bool
	}{
		{"text", `<p>{{.V}}</p>`, evil, `<p>&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;&amp;</p>`, false},
		{"title", `<title>{{.V}}</title>`, "a<b", `<title>a&lt;b</title>`, false},
		{"double-quoted attribute", `<main data-x="{{.V}}">`, evil, `<main data-x="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&#39;&amp;">`, false},
		{"single-quoted attribute", `<main data-x='{{.V}}'>`, "it's", `<main data-x='it&#39;s'>`, false},
		{"https URL", `<a href="{{.V}}">x</a>`, "https://example.com/a?b=1&c=2", `<a href="https://example.com/a?b=1&amp;c=2">x</a>`, false},
		{"empty URL", `<a href="{{.V}}">x</a>`, "", `<a href="">x</a>`, false},
		{"javascript URL", `<a href="{{.V}}">x</a>`, "javascript:alert(1)", "", true},
		{"relative URL", `<a href="{{.V}}">x</a>`, "//evil.example", "", true},
		{"attributes in a tag", `<section id="a"{{.V}}>`, ` hidden aria-invalid="true"`, `<section id="a" hidden aria-invalid="true">`, false},
		{"no attributes in a tag", `<section id="a"{{.V}}>`, ``, `<section id="a">`, false},
		{"markup in a tag", `<section id="a"{{.V}}>`, ` onclick="x()"`, "", true},
		{"a quote in a tag", `<section id="a"{{.V}}>`, ` a="b" c`, `<section id="a" a="b" c>`, false},
		{"an unclosed quote in a tag", `<section id="a"{{.V}}>`, ` a="b`, "", true},
		{"text after a script", `<script>var a = "<p>";</script><p>{{.V}}</p>`, "<", `<script>var a = "<p>";</script><p>&lt;</p>`, false},
		{"text after a comment", `<!-- <a href=" --><p>{{.V}}</p>`, "<", `<!-- <a href=" --><p>&lt;</p>`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmpl, err := ParseHTML("t", c.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Fill(map[string]string{"V": c.value})
			if c.fillErr {
				if err == nil {
					t.Fatalf("Fill(%q) = %q, want an error", c.value, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("Fill(%q) =\n  %s\nwant\n  %s", c.value, got, c.want)
			}
		})
	}
}

func TestHTMLHolesWhereNoValueIsSafeAreRefused(t *testing.T) {
	for name, src := range map[string]string{
		"script":            `<script>var a = "{{.V}}";</script>`,
		"style":             `<style>p { color: {{.V}} }</style>`,
		"event handler":     `<button onclick="go('{{.V}}')">`,
		"style attribute":   `<p style="color: {{.V}}">`,
		"unquoted value":    `<p class={{.V}}>`,
		"tag name":          `<p{{.V}}>`,
		"attribute name":    `<p data-{{.V}}="x">`,
		"comment":           `<!-- {{.V}} -->`,
		"script, uppercase": `<SCRIPT>{{.V}}</SCRIPT>`,
	} {
		if _, err := ParseHTML("t", src); err == nil {
			t.Errorf("%s: ParseHTML(%q): no error", name, src)
		}
	}
}
