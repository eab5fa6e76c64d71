package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"maps"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// The outcomes package reset declares, by name. A new exported Err var in
// pkg/reset/errors.go fails TestEveryFlowOutcomeHasARowOnEveryRoute until it
// is listed here (and, if a flow returns it, until every route whose flow
// does has a row for it) or in neverAtEdge.
var resetSentinels = map[string]error{
	"ErrInvalidEmail":    reset.ErrInvalidEmail,
	"ErrInvalidUsername": reset.ErrInvalidUsername,
	"ErrUnknownAccount":  reset.ErrUnknownAccount,
	"ErrInactiveAccount": reset.ErrInactiveAccount,
	"ErrNoCode":          reset.ErrNoCode,
	"ErrExpired":         reset.ErrExpired,
	"ErrInvalidCode":     reset.ErrInvalidCode,
	"ErrDeviceMismatch":  reset.ErrDeviceMismatch,
	"ErrInvalidToken":    reset.ErrInvalidToken,
	"ErrRateLimited":     reset.ErrRateLimited,
	"ErrTooManyAttempts": reset.ErrTooManyAttempts,
}

// decodeSentinels come from reset.ParseEmail and reset.ParseUsername, which
// the edge calls while it decodes a request (and armorOutcome, which words a
// revealed unknown account as the seed does), not from a flow. Each table
// names them where its route parses a name; the contract suite pins those
// rows.
var decodeSentinels = []string{"ErrInvalidEmail", "ErrInvalidUsername"}

// neverAtEdge are sentinels errors.go documents as never returned by the
// flows, so no route can be asked to answer them. Listed by name only: they
// need not exist.
var neverAtEdge = []string{"ErrAmbiguousAccount"}

// limitSentinels are returned inside a *reset.LimitError.
var limitSentinels = []string{"ErrRateLimited", "ErrTooManyAttempts"}

// outcomeFlows answers every flow with err and records which were called.
type outcomeFlows struct {
	err    error
	called []string
}

func (f *outcomeFlows) RequestCode(context.Context, reset.CodeRequest) error {
	return f.call("RequestCode")
}
func (f *outcomeFlows) ResetWithCode(context.Context, reset.CodeReset) error {
	return f.call("ResetWithCode")
}
func (f *outcomeFlows) RequestLink(context.Context, reset.LinkRequest) error {
	return f.call("RequestLink")
}
func (f *outcomeFlows) ResetWithLink(context.Context, reset.LinkReset) error {
	return f.call("ResetWithLink")
}
func (f *outcomeFlows) CheckLink(context.Context, reset.Token) error { return f.call("CheckLink") }
func (f *outcomeFlows) VerifyCode(context.Context, reset.CodeCheck) (reset.Grant, error) {
	return reset.Grant{Token: reset.Token(strings.Repeat("ab", 32)), TTL: 5 * time.Minute}, f.call("VerifyCode")
}
func (f *outcomeFlows) ResetWithGrant(context.Context, reset.GrantReset) error {
	return f.call("ResetWithGrant")
}

func (f *outcomeFlows) call(flow string) error {
	f.called = append(f.called, flow)
	return f.err
}

// outcomeRequests are well-formed requests that reach a flow, one at least
// for every route and every table (and for user-name-or-email API, by email and by user
// name, which armorOutcome words differently).
var outcomeRequests = []struct{ method, path, body string }{
	{"POST", "/auth/otp", `{"action":"create","email":"alice@example.test"}`},
	{"POST", "/auth/otp", `{"action":"validate","email":"alice@example.test","otp":"123456","new_password":"correct horse battery staple"}`},
	{"POST", "/auth/otp", `{"action":"verify","email":"alice@example.test","otp":"123456"}`},
	{"POST", "/auth/otp", `{"action":"complete","grant":"` + strings.Repeat("ab", 32) + `","new_password":"correct horse battery staple"}`},
	{"POST", "/alice%40example.test/reset-password", `{"otp":"123456","new_password":"correct horse battery staple"}`},
	{"POST", "/auth/request-reset-password", `{"email":"alice@example.test"}`},
	{"POST", "/auth/reset-password", `{"token":"` + strings.Repeat("ab", 32) + `","new_password":"correct horse battery staple"}`},
	{"POST", "/auth/reset-password/" + strings.Repeat("ab", 32), `{"new_password":"correct horse battery staple"}`},
	{"POST", "/generate-otp", `{"email":"alice@example.test"}`},
	{"POST", "/reset-password", `{"email":"alice@example.test","otp":"123456","newPassword":"correct horse battery staple"}`},
	{"POST", "/auth/forgot-password", `{"userEmail":"alice@example.test"}`},
	{"POST", "/auth/forgot-password", `{"userName":"alice"}`},
	{"PUT", "/auth/forgot-password", `{"userEmail":"alice@example.test","otp":"123456","newPassword":"correct horse battery staple"}`},
	{"PUT", "/auth/forgot-password", `{"userName":"alice","otp":"123456","newPassword":"correct horse battery staple"}`},
}

// TestEveryFlowOutcomeHasARowOnEveryRoute drives every outcome a flow
// documents (the "Errors:" paragraph of its doc comment in package reset)
// through the handler of every route that calls that flow, and fails where
// one falls through to the route's 500: an outcome of the flows is never a
// failed dependency. Sentinels are found by parsing pkg/reset/errors.go, so
// a new one fails here until it is accounted for.
func TestEveryFlowOutcomeHasARowOnEveryRoute(t *testing.T) {
	declared := exportedErrVars(t, "../reset/errors.go")
	documented := flowErrorDocs(t, "../reset")

	// Every declared sentinel is known here, and every known one declared.
	for _, name := range declared {
		if _, ok := resetSentinels[name]; !ok && !slices.Contains(neverAtEdge, name) {
			t.Errorf("reset.%s is declared in errors.go but unknown to this test: if a flow can return it, add it to resetSentinels, name it in that flow's \"Errors:\" doc and give it a row in every table of a route calling that flow (answers.go); if none can, add it to neverAtEdge", name)
		}
	}
	for name := range resetSentinels {
		if !slices.Contains(declared, name) {
			t.Errorf("resetSentinels names reset.%s, which errors.go no longer declares", name)
		}
	}
	// Every sentinel but the decoding ones is returned by some flow, and
	// none said never to reach the edge is.
	for name := range resetSentinels {
		if slices.Contains(decodeSentinels, name) {
			continue
		}
		if !slices.ContainsFunc(slices.Collect(maps.Values(documented)), func(d flowDoc) bool { return slices.Contains(d.sentinels, name) }) {
			t.Errorf("reset.%s is named in no flow's \"Errors:\" doc: document which flow returns it, or move it to neverAtEdge", name)
		}
	}
	for flow, d := range documented {
		for _, name := range d.sentinels {
			if slices.Contains(neverAtEdge, name) {
				t.Errorf("%s documents returning reset.%s, which neverAtEdge says no flow returns", flow, name)
			}
			if _, ok := resetSentinels[name]; !ok && !slices.Contains(neverAtEdge, name) {
				t.Errorf("%s documents returning %s, which resetSentinels does not list", flow, name)
			}
		}
	}

	var logged bytes.Buffer
	flows := &outcomeFlows{}
	h, err := New(flows, slog.New(slog.NewTextHandler(&logged, nil)), RouteKeys())
	if err != nil {
		t.Fatal(err)
	}
	reachedRoutes, reachedTables := map[string]bool{}, map[*table]bool{}
	for _, r := range outcomeRequests {
		key, params, ok := apigwtest.Match(RouteKeys(), r.method, r.path)
		if !ok {
			t.Fatalf("no route for %s %s", r.method, r.path)
		}
		hr := httptest.NewRequest(r.method, "https://api.passreset.test"+r.path, strings.NewReader(r.body))
		hr.Header.Set("Content-Type", "application/json")
		hr.Header.Set("User-Agent", "outcomes/1.0")
		ev := apigwtest.EventFor(hr, key, params, []byte(r.body), "198.51.100.7")
		name := fmt.Sprintf("%s %s", key, r.body)

		// Which flow the request reaches, and which table answers it.
		*flows = outcomeFlows{}
		tb, outcome := serves[key](context.Background(), flows, newRequest(ev))
		if outcome != nil || len(flows.called) != 1 {
			t.Fatalf("%s: reached flows %v with outcome %v; want one flow, success", name, flows.called, outcome)
		}
		flow := flows.called[0]
		if tb.grant != nil {
			// The first of the two steps answers with a copy of its table
			// that holds the grant (table.granting).
			tb = &otpVerify
		}
		reachedRoutes[key], reachedTables[tb] = true, true
		doc, ok := documented[flow]
		if !ok {
			t.Fatalf("%s calls %s, whose doc comment has no \"Errors:\" paragraph", name, flow)
		}

		handle := func(outcome error) (int, string) {
			t.Helper()
			flows.err = outcome
			logged.Reset()
			resp, err := h.Handle(context.Background(), ev)
			if err != nil {
				t.Fatalf("%s: Handle returned an error: %v", name, err)
			}
			return resp.StatusCode, resp.Body
		}
		for _, s := range doc.sentinels {
			sentinel, ok := resetSentinels[s]
			if !ok {
				continue // reported above
			}
			outcomes := []error{sentinel, fmt.Errorf("%s: %w", strings.ToLower(flow), sentinel)}
			if slices.Contains(limitSentinels, s) {
				outcomes = append(outcomes, &reset.LimitError{Err: sentinel, RetryAfter: time.Minute})
			}
			for _, o := range outcomes {
				status, body := handle(o)
				if status >= 500 || strings.Contains(logged.String(), "level=ERROR") {
					t.Errorf("%s: %s returned %v (%T): got %d %s, an ERROR logged %v; want a row of %s's table, not its 500",
						name, flow, o, o, status, body, strings.Contains(logged.String(), "level=ERROR"), key)
				}
			}
		}
		if doc.rejection {
			rejected := &password.Rejection{Reason: "Password must be at least 8 characters."}
			if status, body := handle(rejected); status != 400 || !strings.Contains(body, rejected.Reason) {
				t.Errorf("%s: %s returned a *password.Rejection: got %d %s; want 400 with its reason", name, flow, status, body)
			}
		}
		// The check sees a fall-through: a failed dependency is the 500.
		if status, _ := handle(errors.New("dynamodb: connection reset")); status != 500 || !strings.Contains(logged.String(), "level=ERROR") {
			t.Errorf("%s: a failed dependency got %d; want the route's 500, logged as an ERROR", name, status)
		}
	}
	for key := range serves {
		if !reachedRoutes[key] {
			t.Errorf("route %s is in no outcomeRequests: add a request that reaches its flow", key)
		}
	}
	for _, tb := range allTables {
		if !reachedTables[tb] {
			t.Errorf("table %s is reached by no outcomeRequests: add a request it answers", tableName(tb))
		}
	}
}

// exportedErrVars lists the exported variables named Err… that file
// declares.
func exportedErrVars(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, decl := range f.Decls {
		gen, ok := decl.(*ast.GenDecl)
		if !ok || gen.Tok != token.VAR {
			continue
		}
		for _, spec := range gen.Specs {
			for _, id := range spec.(*ast.ValueSpec).Names {
				if id.IsExported() && strings.HasPrefix(id.Name, "Err") {
					names = append(names, id.Name)
				}
			}
		}
	}
	if len(names) == 0 {
		t.Fatalf("%s declares no Err… variables", file)
	}
	return names
}

// flowDoc is what a flow's doc comment says it returns.
type flowDoc struct {
	sentinels []string // the Err… names in its "Errors:" paragraph
	rejection bool     // a *password.Rejection
}

var errName = regexp.MustCompile(`\bErr[A-Z]\w*`)

// flowErrorDocs reads the "Errors:" paragraph of the doc comment of every
// method of *reset.Service that Flows names, from the package's source in
// dir.
func flowErrorDocs(t *testing.T, dir string) map[string]flowDoc {
	t.Helper()
	var flows []string
	ft := reflect.TypeFor[Flows]()
	for i := range ft.NumMethod() {
		flows = append(flows, ft.Method(i).Name)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]flowDoc{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv == nil || fn.Doc == nil || !slices.Contains(flows, fn.Name.Name) || !isServiceReceiver(fn.Recv) {
				continue
			}
			text := fn.Doc.Text()
			_, errs, found := strings.Cut(text, "Errors:")
			if !found {
				continue
			}
			errs, _, _ = strings.Cut(errs, "\n\n")
			docs[fn.Name.Name] = flowDoc{
				sentinels: errName.FindAllString(errs, -1),
				rejection: strings.Contains(errs, "password.Rejection"),
			}
		}
	}
	return docs
}

func isServiceReceiver(recv *ast.FieldList) bool {
	if len(recv.List) != 1 {
		return false
	}
	star, ok := recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Service"
}

// serves maps every JSON route key of every function to its handler.
var serves = func() map[string]serveFunc {
	m := map[string]serveFunc{}
	for _, f := range Functions() {
		for _, r := range f.Routes {
			if r.serve != nil {
				m[r.Key] = r.serve
			}
		}
	}
	return m
}()
