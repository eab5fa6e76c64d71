package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// The tests in this file hold docs/openapi.yaml to the code both ways: what
// the code answers is documented, and what is documented the code answers.
// TestOpenAPIMatchesTheCode reads the answer tables of
// pkg/gateway/answers.go from the source; TestOpenAPIAnswersAsServed drives
// every route through the dev server with every flow outcome, the reset page
// and its forms included, and checks each status, content type and body
// against the document.

// originRefusalServed says that the gateway refuses a POST or PUT whose
// Origin is foreign, as docs/contract.md ("Browsers: origins and CORS")
// requires (pkg/gateway/origin.go): every such request must then get
// exactly the documented 403, and every documented 403 must be served.
// With false, the 403 rows are held to the document only (any 403 the code
// does give must still match them): for a tree where the rule is not in
// the code yet.
const originRefusalServed = true

// originRefused is the message of the 403 that refuses a foreign Origin.
const originRefused = "Origin not allowed."

// TestOpenAPIMatchesTheCode holds docs/openapi.yaml to the code: the same
// route keys as gateway.RouteKeys, and for each route every status and
// message of its answer tables in pkg/gateway/answers.go, read from the
// source since the tables are unexported, and no JSON status the code never
// gives.
func TestOpenAPIMatchesTheCode(t *testing.T) {
	s := readOpenAPI(t)
	if v, _ := s.root["openapi"].(string); !strings.HasPrefix(v, "3.1") {
		t.Errorf("openapi: got %q, want 3.1.x", v)
	}
	ops := s.operations(t)

	var keys []string
	for k := range ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if want := gateway.RouteKeys(); !reflect.DeepEqual(keys, want) {
		t.Fatalf("docs/openapi.yaml routes:\n got %v\nwant %v (gateway.RouteKeys)", keys, want)
	}

	code := readAnswers(t, filepath.Join("..", "gateway", "answers.go"))
	for _, key := range keys {
		codeStatuses := map[string]bool{}
		for _, a := range code.answers[key] {
			codeStatuses[a.status] = true
			resp := s.at(ops[key], "responses", a.status)
			if resp == nil {
				t.Errorf("%s: status %s (%q) is not documented", key, a.status, a.message)
				continue
			}
			if !containsString(resp, a.message) {
				t.Errorf("%s %s: message %q is not among the documented examples", key, a.status, a.message)
			}
		}
		responses, _ := s.at(ops[key], "responses").(map[string]any)
		if len(codeStatuses) == 0 && s.at(responses, "200", "content", "text/html") == nil {
			// A route with no JSON table is a page (pkg/gateway/page.go).
			t.Errorf("%s: no answer table in answers.go names it, and it is not documented as an HTML page", key)
		}
		for status := range responses {
			resp := s.at(responses, status)
			// A page's own statuses, and the 403 that refuses a foreign
			// Origin, are held to the code by TestOpenAPIAnswersAsServed.
			origin := status == "403" && containsString(resp, originRefused)
			if !codeStatuses[status] && !s.htmlOnly(resp) && !origin {
				t.Errorf("%s: documents status %s, which the code never answers", key, status)
			}
			if !s.requiredHeader(resp, "Cache-Control") {
				t.Errorf("%s %s: no required Cache-Control header", key, status)
			}
			if status == "429" && !s.requiredHeader(resp, "Retry-After") {
				t.Errorf("%s 429: no required Retry-After header", key)
			}
		}
		if len(codeStatuses) > 0 && s.at(ops[key], "requestBody", "content", "application/json", "schema") == nil {
			t.Errorf("%s: no application/json request body schema", key)
		}
	}
}

// TestOpenAPIPublicAndPlaceholder: the API is declared public, and the
// server a generated client calls by default is a placeholder that never
// resolves, so no generated client sends a password anywhere by accident.
func TestOpenAPIPublicAndPlaceholder(t *testing.T) {
	s := readOpenAPI(t)
	if sec, ok := s.root["security"].([]any); !ok || len(sec) != 0 {
		t.Errorf("security: got %#v, want [] (the API takes no credentials)", s.root["security"])
	}
	servers, _ := s.root["servers"].([]any)
	if len(servers) == 0 {
		t.Fatal("servers: none")
	}
	raw, _ := s.at(servers[0], "url").(string)
	if u, err := url.Parse(raw); err != nil || !strings.HasSuffix(u.Hostname(), ".invalid") {
		t.Errorf("servers[0].url = %q; want a placeholder under .invalid, which never resolves", raw)
	}
}

// TestOpenAPIOriginRefusals: every POST and PUT documents the 403 that
// refuses a foreign Origin, with the body of its family, the family being
// the one its table in answers.go shapes answers with.
func TestOpenAPIOriginRefusals(t *testing.T) {
	s := readOpenAPI(t)
	code := readAnswers(t, filepath.Join("..", "gateway", "answers.go"))
	for key, op := range s.operations(t) {
		if !strings.HasPrefix(key, "POST ") && !strings.HasPrefix(key, "PUT ") {
			continue
		}
		family := code.family[key]
		if family == "" {
			t.Errorf("%s: no table in answers.go names it, so its family is unknown", key)
			continue
		}
		want := familyBody(family, http.StatusForbidden, originRefused)
		resp := s.at(op, "responses", "403")
		if resp == nil {
			t.Errorf("%s: no 403 (%s) documented", key, originRefused)
			continue
		}
		if !s.hasExample(s.at(resp, "content", "application/json"), want) {
			t.Errorf("%s 403: no application/json example %v", key, want)
		}
		if !s.requiredHeader(resp, "Cache-Control") {
			t.Errorf("%s 403: no required Cache-Control header", key)
		}
	}
}

// scripted is a gateway.Flows whose every flow returns err, except that
// only the flows that set a password can reject one.
type scripted struct{ err error }

func (f *scripted) RequestCode(context.Context, reset.CodeRequest) error   { return f.sendErr() }
func (f *scripted) ResetWithCode(context.Context, reset.CodeReset) error   { return f.err }
func (f *scripted) RequestLink(context.Context, reset.LinkRequest) error   { return f.sendErr() }
func (f *scripted) ResetWithLink(context.Context, reset.LinkReset) error   { return f.err }
func (f *scripted) CheckLink(context.Context, reset.Token) error           { return f.sendErr() }
func (f *scripted) ResetWithGrant(context.Context, reset.GrantReset) error { return f.err }

// VerifyCode sets no password, so it cannot reject one; its success
// carries a grant.
func (f *scripted) VerifyCode(context.Context, reset.CodeCheck) (reset.Grant, error) {
	if err := f.sendErr(); err != nil {
		return reset.Grant{}, err
	}
	return reset.Grant{Token: reset.Token(strings.Repeat("ab", 32)), TTL: 5 * time.Minute}, nil
}

func (f *scripted) sendErr() error {
	var rejected *password.Rejection
	if errors.As(f.err, &rejected) {
		return nil
	}
	return f.err
}

// rejectedReason is the policy reason the document's passwordRejected
// examples show.
const rejectedReason = "Password must be at least 8 characters."

// outcomes are what a flow can return: every sentinel, both limits, a
// rejected password and a failed dependency.
var outcomes = []error{
	nil,
	reset.ErrInvalidEmail,
	reset.ErrInvalidUsername,
	reset.ErrUnknownAccount,
	reset.ErrInactiveAccount,
	reset.ErrNoCode,
	reset.ErrExpired,
	reset.ErrInvalidCode,
	reset.ErrDeviceMismatch,
	reset.ErrInvalidToken,
	&reset.LimitError{Err: reset.ErrRateLimited, RetryAfter: 90 * time.Second},
	&reset.LimitError{Err: reset.ErrTooManyAttempts, RetryAfter: 1500 * time.Millisecond},
	&password.Rejection{Reason: rejectedReason},
	errors.New("dependency failed"),
}

// A reset page form as a browser without JavaScript posts it.
const (
	formType = "application/x-www-form-urlencoded"
	// browserAccept is what a browser sends when it submits a form.
	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	// foreignOrigin is an origin that is neither allowed nor the API's.
	foreignOrigin = "https://elsewhere.example.invalid"
)

// call is one request to one route.
type call struct {
	path    string
	body    string
	headers map[string]string
}

// calls returns the requests that drive each route key: valid JSON bodies
// (each field missing too where the answer names it), an invalid body, the
// reset page's forms as a browser posts them, and the same requests from a
// foreign origin and from Origin: null.
func calls() map[string][]call {
	token := strings.Repeat("ab", 32)
	const pw = "a new and long passphrase"
	jsonBodies := map[string]struct {
		path   string
		bodies []string
	}{
		"POST /auth/otp": {"/auth/otp", []string{
			`{"action":"create","email":"a@example.com"}`,
			`{"action":"validate","email":"a@example.com","otp":"123456","new_password":"` + pw + `"}`,
			`{"action":"verify","email":"a@example.com","otp":"123456"}`,
			`{"action":"complete","grant":"` + token + `","new_password":"` + pw + `"}`,
			`{"action":"other","email":"a@example.com"}`,
		}},
		"POST /{email}/reset-password": {"/a%40example.com/reset-password", []string{
			`{"otp":"123456","new_password":"` + pw + `"}`,
		}},
		"POST /auth/request-reset-password": {"/auth/request-reset-password", []string{
			`{"email":"a@example.com"}`,
		}},
		"POST /auth/reset-password": {"/auth/reset-password", []string{
			`{"token":"` + token + `","new_password":"` + pw + `"}`,
		}},
		"POST /auth/reset-password/{token}": {"/auth/reset-password/" + token, []string{
			`{"new_password":"` + pw + `"}`,
		}},
		"POST /generate-otp": {"/generate-otp", []string{
			`{"email":"a@example.com"}`,
		}},
		"POST /reset-password": {"/reset-password", []string{
			`{"email":"a@example.com","otp":"123456","newPassword":"` + pw + `"}`,
		}},
		"POST /auth/forgot-password": {"/auth/forgot-password", []string{
			`{"userEmail":"a@example.com"}`,
			`{"userName":"someone"}`,
		}},
		"PUT /auth/forgot-password": {"/auth/forgot-password", []string{
			`{"userEmail":"a@example.com","otp":"123456","newPassword":"` + pw + `"}`,
			`{"userName":"someone","otp":"123456","newPassword":"` + pw + `"}`,
			`{"userName":"someone","newPassword":"` + pw + `"}`,
			`{"userName":"someone","otp":"123456"}`,
		}},
	}
	forms := []string{
		url.Values{"new_password": {pw}, "confirm_password": {pw}}.Encode(),
		url.Values{"new_password": {pw}, "confirm_password": {pw + "x"}}.Encode(),
		url.Values{"new_password": {pw}}.Encode(),
		"",
		url.Values{"email": {"a@example.com"}}.Encode(),
		url.Values{"email": {"not an address"}}.Encode(),
	}
	jsonType := map[string]string{"Content-Type": "application/json"}
	formHeaders := map[string]string{"Content-Type": formType, "Accept": browserAccept}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for hk, hv := range h {
			out[hk] = hv
		}
		return out
	}

	out := map[string][]call{
		"GET /auth/reset-password/{token}": {
			{path: "/auth/reset-password/" + token, headers: map[string]string{"Accept": browserAccept}},
		},
	}
	for key, r := range jsonBodies {
		var cs []call
		for _, b := range r.bodies {
			cs = append(cs, call{r.path, b, jsonType})
		}
		cs = append(cs, call{r.path, `not json`, jsonType}, call{r.path, `{}`, jsonType})
		for _, f := range forms {
			cs = append(cs, call{r.path, f, formHeaders})
		}
		for _, origin := range []string{foreignOrigin, "null"} {
			cs = append(cs,
				call{r.path, r.bodies[0], with(jsonType, "Origin", origin)},
				call{r.path, forms[0], with(formHeaders, "Origin", origin)},
				call{r.path, forms[4], with(formHeaders, "Origin", origin)},
			)
		}
		out[key] = cs
	}
	return out
}

// TestOpenAPIAnswersAsServed drives every route through the dev server, as
// API Gateway and the functions would answer it, with every flow outcome:
// JSON clients, the reset page (GET) and its forms posted without
// JavaScript, and requests from foreign origins. Every answer's status must
// be documented for its operation, with its content type, the required
// headers, and (for JSON) a body equal to one of the documented examples.
// The other way round, every documented page, form body and JSON example
// must be served by some request, so the document promises nothing the code
// does not do.
func TestOpenAPIAnswersAsServed(t *testing.T) {
	s := readOpenAPI(t)
	ops := s.operations(t)
	flows := &scripted{}
	srv, err := NewServer(flows, gateway.Options{}, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)

	byKey := calls()
	for key := range ops {
		if len(byKey[key]) == 0 {
			t.Errorf("%s: documented, but this test sends it no request; add it to calls()", key)
		}
	}

	served := map[string]bool{}   // "key status media type"
	examples := map[string]bool{} // "key status body", JSON bodies served
	formPages := map[string]bool{}
	// Each problem once, with the first request that showed it.
	problems := map[string]string{}
	var order []string
	report := func(problem, where string) {
		if _, seen := problems[problem]; !seen {
			problems[problem] = where
			order = append(order, problem)
		}
	}
	for key, cs := range byKey {
		op := ops[key]
		if op == nil {
			t.Errorf("%s: sent by this test, but not in the document", key)
			continue
		}
		method, _, _ := strings.Cut(key, " ")
		for _, c := range cs {
			for _, outcome := range outcomes {
				flows.err = outcome
				status, header, body := do(t, method, ts.URL+c.path, c.body, c.headers)
				where := fmt.Sprintf("%s %s %q %v, flow outcome %v", method, c.path, c.body, c.headers, outcome)
				mt, _, _ := mime.ParseMediaType(header.Get("Content-Type"))
				served[key+" "+strconv.Itoa(status)+" "+mt] = true
				if mt == "text/html" && c.headers["Content-Type"] == formType {
					formPages[key] = true
				}
				if mt == "application/json" {
					examples[key+" "+strconv.Itoa(status)+" "+canonical(t, body)] = true
				}
				for _, p := range s.checkServed(op, status, header, mt, body) {
					report(key+": "+p, where)
				}
				if originRefusalServed && c.headers["Origin"] != "" && status != http.StatusForbidden {
					report(fmt.Sprintf("%s: a foreign Origin got %d, want the 403 %q", key, status, originRefused), where)
				}
			}
		}
	}
	for _, p := range order {
		t.Errorf("%s\n\tfirst request: %s", p, problems[p])
	}

	// The other way round: what the document promises is served.
	for key, op := range ops {
		responses, _ := s.at(op, "responses").(map[string]any)
		for status := range responses {
			content, _ := s.at(responses, status, "content").(map[string]any)
			for mt := range content {
				origin := status == "403" && !originRefusalServed
				if !served[key+" "+status+" "+mt] && !origin {
					t.Errorf("%s: documents a %s %s answer, which no request got", key, status, mt)
				}
				if mt != "application/json" || origin {
					continue
				}
				exs, _ := s.at(content, mt, "examples").(map[string]any)
				for name := range exs {
					value := s.at(exs, name, "value")
					if !examples[key+" "+status+" "+canonicalValue(t, value)] {
						t.Errorf("%s %s: example %s %v is an answer no request got", key, status, name, value)
					}
				}
			}
		}
		form := s.at(op, "requestBody", "content", formType) != nil
		if form != formPages[key] {
			t.Errorf("%s: the document has a %s request body: %v; a form posted by a browser gets a page: %v", key, formType, form, formPages[key])
		}
	}
}

// checkServed checks one answer against the operation's documented
// response for its status, and says what disagrees.
func (s spec) checkServed(op any, status int, header http.Header, mt, body string) []string {
	resp := s.at(op, "responses", strconv.Itoa(status))
	if resp == nil {
		return []string{fmt.Sprintf("answered %d %s, a status not documented", status, mt)}
	}
	media := s.at(resp, "content", mt)
	if media == nil {
		return []string{fmt.Sprintf("answered %d as %q, which the document does not list for %d", status, mt, status)}
	}
	var problems []string
	if got := header.Get("Cache-Control"); got != "no-store" || !s.requiredHeader(resp, "Cache-Control") {
		problems = append(problems, fmt.Sprintf("%d: Cache-Control %q (documented as required: %v), want no-store",
			status, got, s.requiredHeader(resp, "Cache-Control")))
	}
	if status == http.StatusTooManyRequests {
		if n, err := strconv.Atoi(header.Get("Retry-After")); err != nil || n < 1 || !s.requiredHeader(resp, "Retry-After") {
			problems = append(problems, fmt.Sprintf("429: Retry-After %q (documented as required: %v), want whole seconds, at least 1",
				header.Get("Retry-After"), s.requiredHeader(resp, "Retry-After")))
		}
	}
	if mt != "application/json" {
		return problems
	}
	var got any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		return append(problems, fmt.Sprintf("%d: body %q is not JSON: %v", status, body, err))
	}
	if !s.hasExample(media, got) {
		problems = append(problems, fmt.Sprintf("%d %s is not among the documented examples", status, body))
	}
	return problems
}

// do makes one request and returns its status, headers and body.
func do(t *testing.T, method, url, body string, headers map[string]string) (int, http.Header, string) {
	t.Helper()
	resp, b := send(t, method, url, body, headers)
	return resp.StatusCode, resp.Header, b
}

// familyBody is the body a family's table gives an answer (answers.go).
func familyBody(family string, status int, message string) any {
	var body map[string]any
	switch family {
	case "codeByActionBody":
		body = map[string]any{"success": status < 300, "message": message}
	case "linkBody":
		if status < 300 {
			body = map[string]any{"message": message}
		} else {
			body = map[string]any{"error": message}
		}
	case "minimalBody":
		body = map[string]any{"message": message}
	case "usernameOrEmailBody":
		body = map[string]any{"message": message, "status": status}
	default:
		return nil
	}
	return body
}

// canonical is a JSON body in one spelling: keys sorted, numbers alike.
func canonical(t *testing.T, body string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		return body
	}
	return canonicalValue(t, v)
}

func canonicalValue(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%#v: %v", v, err)
	}
	var w any
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	b, err = json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// spec is docs/openapi.yaml, decoded.
type spec struct{ root map[string]any }

func readOpenAPI(t *testing.T) spec {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	return spec{doc}
}

// operations maps "POST /auth/otp" to its operation object.
func (s spec) operations(t *testing.T) map[string]any {
	t.Helper()
	paths, ok := s.root["paths"].(map[string]any)
	if !ok {
		t.Fatal("docs/openapi.yaml: no paths")
	}
	ops := map[string]any{}
	for path, item := range paths {
		methods, _ := s.deref(item).(map[string]any)
		for m, op := range methods {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops[strings.ToUpper(m)+" "+path] = s.deref(op)
			}
		}
	}
	return ops
}

// at walks maps by keys, following a local $ref ("#/components/...") at
// every step; nil when a key is missing.
func (s spec) at(v any, keys ...string) any {
	v = s.deref(v)
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		if v, ok = m[k]; !ok {
			return nil
		}
		v = s.deref(v)
	}
	return v
}

// deref follows v's $ref, if it has one, within the document.
func (s spec) deref(v any) any {
	for range 10 { // a chain of references, not a loop
		m, ok := v.(map[string]any)
		if !ok {
			return v
		}
		ref, ok := m["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return v
		}
		var next any = s.root
		for _, seg := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
			m, ok := next.(map[string]any)
			if !ok {
				return nil
			}
			next = m[seg]
		}
		v = next
	}
	return v
}

// requiredHeader reports whether a response documents the header as
// required.
func (s spec) requiredHeader(resp any, name string) bool {
	return s.at(resp, "headers", name, "required") == true
}

// htmlOnly reports whether a response is documented as an HTML page only.
func (s spec) htmlOnly(resp any) bool {
	content, _ := s.at(resp, "content").(map[string]any)
	_, html := content["text/html"]
	return html && len(content) == 1
}

// hasExample reports whether a media type object has an example whose
// value equals want as JSON.
func (s spec) hasExample(media any, want any) bool {
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return false
	}
	exs, _ := s.at(media, "examples").(map[string]any)
	for name := range exs {
		got, err := json.Marshal(s.at(exs, name, "value"))
		if err != nil {
			continue
		}
		var a, b any
		if json.Unmarshal(got, &a) == nil && json.Unmarshal(wantJSON, &b) == nil && reflect.DeepEqual(a, b) {
			return true
		}
	}
	return false
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

// codeTables is what answers.go's tables say: for each route key, every
// answer{status, message} of the tables that list it, and the name of the
// family function that shapes its bodies.
type codeTables struct {
	answers map[string][]codeAnswer
	family  map[string]string
}

// readAnswers reads answers.go's tables.
func readAnswers(t *testing.T, path string) codeTables {
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

	out := codeTables{answers: map[string][]codeAnswer{}, family: map[string]string{}}
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
		var family string
		var answers []codeAnswer
		for _, el := range lit.Elts {
			kv, ok := el.(*ast.KeyValueExpr)
			if !ok {
				continue
			}
			switch kv.Key.(*ast.Ident).Name {
			case "routes":
				for _, r := range kv.Value.(*ast.CompositeLit).Elts {
					s, err := str(r)
					if err != nil {
						t.Fatal(err)
					}
					routes = append(routes, s)
				}
			case "family":
				if id, ok := kv.Value.(*ast.Ident); ok {
					family = id.Name
				}
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
			out.answers[r] = append(out.answers[r], answers...)
			if family != "" {
				out.family[r] = family
			}
		}
		return false
	})
	if tables == 0 {
		t.Fatal("answers.go: no table literals found; has the file changed shape?")
	}
	return out
}
