package devserver

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/passreset/passreset/pkg/gateway"
)

// TestOpenAPIMatchesTheCode holds docs/openapi.yaml to the code: the same
// route keys as gateway.RouteKeys, and for each route every status and
// message of its answer tables in pkg/gateway/answers.go, read from the
// source since the tables are unexported, and no status the code never
// gives.
func TestOpenAPIMatchesTheCode(t *testing.T) {
	doc := readOpenAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi: got %q, want 3.1.x", v)
	}
	ops := operations(t, doc)

	var keys []string
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := gateway.RouteKeys(); !reflect.DeepEqual(keys, want) {
		t.Fatalf("docs/openapi.yaml routes:\n got %v\nwant %v (gateway.RouteKeys)", keys, want)
	}

	answers := readAnswers(t, filepath.Join("..", "gateway", "answers.go"))
	for _, key := range keys {
		codeStatuses := map[string]bool{}
		for _, a := range answers[key] {
			codeStatuses[a.status] = true
			resp := lookup(ops[key], "responses", a.status)
			if resp == nil {
				t.Errorf("%s: status %s (%q) is not documented", key, a.status, a.message)
				continue
			}
			if !containsString(resp, a.message) {
				t.Errorf("%s %s: message %q is not among the documented examples", key, a.status, a.message)
			}
		}
		responses, _ := lookup(ops[key], "responses").(map[string]any)
		if len(codeStatuses) == 0 && lookup(responses, "200", "content", "text/html") == nil {
			// A route with no JSON table is a page (pkg/gateway/page.go).
			t.Errorf("%s: no answer table in answers.go names it, and it is not documented as an HTML page", key)
		}
		for status, resp := range responses {
			// A page's own statuses are checked by pkg/gateway's tests;
			// here only that they are documented as HTML.
			if !codeStatuses[status] && !htmlOnly(resp) {
				t.Errorf("%s: documents status %s, which the code never answers", key, status)
			}
			if lookup(resp, "headers", "Cache-Control") == nil {
				t.Errorf("%s %s: no Cache-Control header", key, status)
			}
			if status == "429" && lookup(resp, "headers", "Retry-After") == nil {
				t.Errorf("%s 429: no Retry-After header", key)
			}
		}
		if len(codeStatuses) > 0 && lookup(ops[key], "requestBody", "content", "application/json", "schema") == nil {
			t.Errorf("%s: no application/json request body schema", key)
		}
	}
}

func readOpenAPI(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	return doc
}

// operations maps "POST /auth/otp" to its operation object.
func operations(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("docs/openapi.yaml: no paths")
	}
	ops := map[string]any{}
	for path, item := range paths {
		methods, _ := item.(map[string]any)
		for m, op := range methods {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops[strings.ToUpper(m)+" "+path] = op
			}
		}
	}
	return ops
}

// htmlOnly reports whether a response is documented as an HTML page only.
func htmlOnly(resp any) bool {
	content, _ := lookup(resp, "content").(map[string]any)
	_, html := content["text/html"]
	return html && len(content) == 1
}

// lookup walks maps by keys; nil when a key is missing.
func lookup(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[k]; !ok {
			return nil
		}
	}
	return v
}

func containsString(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return v == s
	case map[string]any:
		for _, e := range v {
			if containsString(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if containsString(e, s) {
				return true
			}
		}
	}
	return false
}

type codeAnswer struct{ status, message string }

// readAnswers reads answers.go's tables: for each route key, every
// answer{status, message} of the tables that list it.
func readAnswers(t *testing.T, path string) map[string][]codeAnswer {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok {
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						consts[name.Name], _ = strconv.Unquote(lit.Value)
					}
				}
			}
		}
		return true
	})
	str := func(e ast.Expr) (string, error) {
		switch e := e.(type) {
		case *ast.BasicLit:
			return strconv.Unquote(e.Value)
		case *ast.Ident:
			if v, ok := consts[e.Name]; ok {
				return v, nil
			}
		}
		return "", fmt.Errorf("not a string constant: %#v", e)
	}

	out := map[string][]codeAnswer{}
	tables := 0
	ast.Inspect(f, func(n ast.Node) bool {
		lit, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if id, ok := lit.Type.(*ast.Ident); !ok || id.Name != "table" {
			return true
		}
		tables++
		var routes []string
		var answers []codeAnswer
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok || kv.Key.(*ast.Ident).Name != "routes" {
				continue
			}
			for _, r := range kv.Value.(*ast.CompositeLit).Elts {
				s, err := str(r)
				if err != nil {
					t.Fatal(err)
				}
				routes = append(routes, s)
			}
		}
		ast.Inspect(lit, func(n ast.Node) bool {
			a, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			if id, ok := a.Type.(*ast.Ident); !ok || id.Name != "answer" || len(a.Elts) != 2 {
				return true
			}
			status, ok := a.Elts[0].(*ast.BasicLit)
			if !ok {
				t.Fatalf("answers.go: an answer's status is not a literal")
			}
			msg, err := str(a.Elts[1])
			if err != nil {
				t.Fatal(err)
			}
			answers = append(answers, codeAnswer{status.Value, msg})
			return false
		})
		for _, r := range routes {
			out[r] = append(out[r], answers...)
		}
		return false
	})
	if tables == 0 {
		t.Fatal("answers.go: no table literals found; has the file changed shape?")
	}
	return out
}
