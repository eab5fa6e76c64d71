package deploy_test

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/password"
)

// The tests in this file run the service on DynamoDB Local and the SES
// emulator; the template checks beside them need neither.
func TestMain(m *testing.M) { os.Exit(emulator.Run(m)) }

// observed is what the functions' code was seen to call: for each
// function's directory, the set of "action on resource".
type observed map[string]map[grant]bool

type grant struct {
	action   string
	resource resource
}

// callRecorder sends requests through the service and gives the IAM
// actions each one needed to the function that serves its route, as API
// Gateway would send it there.
type callRecorder struct {
	t      *testing.T
	env    *apptest.Env
	acts   *apptest.Actions
	owner  map[string]string // route key -> function dir
	served map[string]int    // route key -> requests
	seen   observed
}

func newCallRecorder(t *testing.T) *callRecorder {
	env := apptest.New(t, nil)
	r := &callRecorder{
		t: t, env: env, acts: env.RecordActions(t),
		owner: map[string]string{}, served: map[string]int{}, seen: observed{},
	}
	for dir, keys := range gateway.FunctionRoutes {
		r.seen[dir] = map[grant]bool{}
		for _, k := range keys {
			r.owner[k] = dir
		}
	}
	return r
}

// do sends req and wants status back, so each scenario is known to take
// the path it names.
func (r *callRecorder) do(req apptest.Request, status int) apptest.Response {
	r.t.Helper()
	if req.Method == "" {
		req.Method = "POST"
	}
	key, _, ok := gateway.Match(gateway.RouteKeys(), req.Method, req.Path)
	if !ok {
		r.t.Fatalf("no route for %s %s", req.Method, req.Path)
	}
	dir, ok := r.owner[key]
	if !ok {
		r.t.Fatalf("route %s has no function in gateway.FunctionRoutes", key)
	}
	r.acts.Take()
	var resp apptest.Response
	if req.Method == "GET" {
		// The reset page answers HTML, which Env.Do would refuse.
		out, err := r.env.Handler.Handle(r.t.Context(), r.env.Event(r.t, req))
		if err != nil {
			r.t.Fatalf("%s %s: %v", req.Method, req.Path, err)
		}
		resp = apptest.Response{Status: out.StatusCode, Headers: out.Headers, Body: out.Body}
	} else {
		resp = r.env.Do(r.t, req)
	}
	if resp.Status != status {
		r.t.Errorf("%s %s: got %d %s, want %d", req.Method, req.Path, resp.Status, resp.Body, status)
	}
	r.served[key]++
	for _, a := range r.acts.Take() {
		res, ok := r.resourceOf(a)
		if !ok {
			r.t.Errorf("function %s, route %s: %s on %q, a resource this test does not know", logicalID(dir), key, a.Name, a.Resource)
			continue
		}
		r.seen[dir][grant{a.Name, res}] = true
	}
	return resp
}

// resourceOf names the template resource an observed action was on.
func (r *callRecorder) resourceOf(a apptest.Action) (resource, bool) {
	users := r.env.Config.Users
	switch {
	case strings.HasPrefix(a.Name, "ses:"):
		return sesIdentity, true
	case strings.HasPrefix(a.Name, "secretsmanager:"):
		return hmacKey, true
	case a.Resource == r.env.Config.TokensTable:
		return tokensTable, true
	case a.Resource == users.Name:
		return usersTable, true
	case users.EmailIndex != "" && a.Resource == users.Name+"/index/"+users.EmailIndex:
		return usersEmailIndex, true
	case users.UsernameIndex != "" && a.Resource == users.Name+"/index/"+users.UsernameIndex:
		return usersUsernameIndex, true
	}
	return "", false
}

func body(v map[string]string) string { return apptest.JSON(v) }

// wrong returns a code of the same length that is not code.
func wrong(code string) string {
	if strings.HasPrefix(code, "1") {
		return strings.Repeat("2", len(code))
	}
	return strings.Repeat("1", len(code))
}

const newPassword = "violet tractor 4 pebble lantern"

// scenarios drives every route of the contract through its success and
// error paths: a send to a known and an unknown account and over a limit,
// a wrong guess, a guess with no code, a right guess, a bad and a used
// token, and family E by user name and by email.
func (r *callRecorder) scenarios() {
	env, t := r.env, r.t
	ip := 0
	from := func() string { ip++; return fmt.Sprintf("203.0.113.%d", ip) }
	post := func(ipAddr, path string, b map[string]string, status int) apptest.Response {
		return r.do(apptest.Request{Path: path, Body: body(b), IP: ipAddr}, status)
	}

	// Family 0.
	{
		a, addr := env.AddAccount(t), from()
		post(addr, "/generate-otp", map[string]string{"email": a.Email}, 200)
		post(addr, "/generate-otp", map[string]string{"email": a.Email}, 429) // MIN_SEND_INTERVAL
		post(addr, "/generate-otp", map[string]string{"email": "nobody-0@example.test"}, 200)
		code := env.LastCode(t, a.Email)
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": wrong(code), "newPassword": newPassword}, 401)
		post(addr, "/reset-password", map[string]string{"email": "nobody-0@example.test", "otp": code, "newPassword": newPassword}, 401)
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword}, 200)
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword}, 401) // used
	}
	// Family N, both routes, and the create action served by otp-validate.
	{
		a, addr := env.AddAccount(t), from()
		post(addr, "/"+a.Email+"/reset-password", map[string]string{"otp": "123456", "new_password": newPassword}, 404) // no code
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": a.Email}, 200)
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": "nobody-n@example.test"}, 200)
		code := env.LastCode(t, a.Email)
		post(addr, "/auth/otp", map[string]string{"action": "validate", "email": a.Email, "otp": wrong(code), "new_password": newPassword}, 400)
		post(addr, "/"+a.Email+"/reset-password", map[string]string{"otp": wrong(code), "new_password": newPassword}, 400)
		post(addr, "/auth/otp", map[string]string{"action": "validate", "email": a.Email, "otp": code, "new_password": newPassword}, 200)

		b := env.AddAccount(t)
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": b.Email}, 200)
		post(addr, "/"+b.Email+"/reset-password", map[string]string{"otp": env.LastCode(t, b.Email), "new_password": newPassword}, 200)
	}
	// Family E, by user name and by email.
	{
		a, addr := env.AddAccount(t), from()
		put := func(b map[string]string, status int) {
			r.do(apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Body: body(b), IP: addr}, status)
		}
		post(addr, "/auth/forgot-password", map[string]string{"userName": a.Username}, 201)
		post(addr, "/auth/forgot-password", map[string]string{"userName": "nobodyatall"}, 201)
		code := env.LastCode(t, a.Email)
		put(map[string]string{"userName": a.Username, "otp": wrong(code), "newPassword": newPassword}, 400)
		put(map[string]string{"userName": a.Username, "otp": code, "newPassword": newPassword}, 201)

		b := env.AddAccount(t)
		post(addr, "/auth/forgot-password", map[string]string{"userEmail": b.Email}, 201)
		code = env.LastCode(t, b.Email)
		put(map[string]string{"userEmail": b.Email, "otp": wrong(code), "newPassword": newPassword}, 400)
		put(map[string]string{"userEmail": b.Email, "otp": code, "newPassword": newPassword}, 201)
	}
	// Family L, both reset routes.
	{
		a, addr := env.AddAccount(t), from()
		post(addr, "/auth/request-reset-password", map[string]string{"email": a.Email}, 200)
		post(addr, "/auth/request-reset-password", map[string]string{"email": a.Email}, 429)
		post(addr, "/auth/request-reset-password", map[string]string{"email": "nobody-l@example.test"}, 200)
		token := env.LastToken(t, a.Email)
		bad := strings.Repeat("ab", 32)
		// The page the link opens: a live and a dead link.
		r.do(apptest.Request{Method: "GET", Path: "/auth/reset-password/" + token, IP: addr}, 200)
		r.do(apptest.Request{Method: "GET", Path: "/auth/reset-password/" + bad, IP: addr}, 404)
		post(addr, "/auth/reset-password", map[string]string{"token": bad, "new_password": newPassword}, 400)
		post(addr, "/auth/reset-password/"+bad, map[string]string{"new_password": newPassword}, 400)
		post(addr, "/auth/reset-password", map[string]string{"token": token, "new_password": newPassword}, 200)
		post(addr, "/auth/reset-password/"+token, map[string]string{"new_password": newPassword}, 400) // used

		b := env.AddAccount(t)
		post(addr, "/auth/request-reset-password", map[string]string{"email": b.Email}, 200)
		post(addr, "/auth/reset-password/"+env.LastToken(t, b.Email), map[string]string{"new_password": newPassword}, 200)
	}
}

// TestPoliciesAreWhatTheCodeCalls runs every route of every function on the
// emulators, records the IAM action behind each AWS call (the item-level
// actions inside a transaction, the index a Query reads) and holds each
// function's policy in the template to exactly that: an action granted
// that no route of the function calls fails, and so does an action called
// that the policy does not grant. The deployed functions also read the
// HMAC key from Secrets Manager, which apptest replaces by a static key,
// so secretsmanager:GetSecretValue counts as called by every function.
func TestPoliciesAreWhatTheCodeCalls(t *testing.T) {
	r := newCallRecorder(t)
	r.scenarios()
	if t.Failed() {
		t.FailNow()
	}
	for _, dir := range sortedKeys(gateway.FunctionRoutes) {
		for _, key := range gateway.FunctionRoutes[dir] {
			if r.served[key] == 0 {
				t.Errorf("function %s: no scenario sends route %s; add one to scenarios", logicalID(dir), key)
			}
		}
		r.seen[dir][grant{"secretsmanager:GetSecretValue", hmacKey}] = true
	}
	for _, s := range loadVariants(t) {
		for _, p := range compareCalls(s, r.seen) {
			t.Errorf("%s: %s", s.v.name, p)
		}
	}

	// The comparison can be seen to fail: a template granting one action
	// too many, and one lacking an action the code calls.
	good := string(readTemplate(t))
	broken := []struct{ name, old, new, want string }{
		{
			name: "granted, never called",
			old:  "Action: [dynamodb:UpdateItem, dynamodb:PutItem]",
			new:  "Action: [dynamodb:UpdateItem, dynamodb:PutItem, dynamodb:DeleteItem]",
			want: "function LinkRequestFunction: grants dynamodb:DeleteItem on ${TokensTable.Arn}, but no route it serves calls it",
		},
		{
			name: "called, not granted",
			old:  "                - dynamodb:ConditionCheckItem\n",
			new:  "",
			want: "function PasswordResetFunction: calls dynamodb:ConditionCheckItem on ${TokensTable.Arn}, which its policy does not grant",
		},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			if !strings.Contains(good, b.old) {
				t.Fatalf("template.yaml no longer contains %q; update this case", b.old)
			}
			s, err := load([]byte(strings.Replace(good, b.old, b.new, 1)), variants[0])
			if err != nil {
				t.Fatalf("load broken template: %v", err)
			}
			problems := compareCalls(s, r.seen)
			for _, p := range problems {
				if strings.Contains(p, b.want) {
					return
				}
			}
			t.Errorf("got problems %q, want one containing %q", problems, b.want)
		})
	}
}

// compareCalls reports, for each function of s, every grant of its policy
// that seen lacks, and every action in seen its policy does not grant.
func compareCalls(s *stack, seen observed) []string {
	var problems []string
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		got := grantsOf(s, id)
		want := map[string]bool{}
		for g := range seen[dir] {
			want[g.action+" on "+s.arn(g.resource)] = true
		}
		for _, g := range sortedKeys(got) {
			if !want[g] {
				problems = append(problems, fmt.Sprintf("function %s: grants %s, but no route it serves calls it", id, g))
			}
		}
		for _, g := range sortedKeys(want) {
			if !got[g] {
				problems = append(problems, fmt.Sprintf("function %s: calls %s, which its policy does not grant", id, g))
			}
		}
	}
	return problems
}

// grantsOf is every "action on resource" the Allow statements of a
// function's inline policies grant. checkPolicies refuses every other kind
// of policy.
func grantsOf(s *stack, id string) map[string]bool {
	resources, _ := s.raw["Resources"].(map[string]any)
	res, _ := resources[id].(map[string]any)
	props, _ := res["Properties"].(map[string]any)
	got := map[string]bool{}
	for _, doc := range list(props["Policies"]) {
		d, _ := doc.(map[string]any)
		for _, st := range list(d["Statement"]) {
			stmt, _ := st.(map[string]any)
			if stmt["Effect"] != "Allow" {
				continue
			}
			for _, a := range list(stmt["Action"]) {
				for _, r := range list(stmt["Resource"]) {
					got[fmt.Sprintf("%v on %v", a, r)] = true
				}
			}
		}
	}
	return got
}

// TestBreachCheckOnlyAfterRightGuess runs the service with PWNED_CHECK on,
// against a local server speaking the range API, and checks the outbound
// call's place in the flows: a wrong guess or a bad token never makes it,
// a right guess makes exactly one, with a five-digit prefix; a breached
// password is refused with the reason and leaves the old password; a
// failing API lets the reset through (fail open) and logs a warning.
func TestBreachCheckOnlyAfterRightGuess(t *testing.T) {
	var (
		mu       sync.Mutex
		paths    []string
		breached = true
		down     = false
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.RequestURI())
		isBreached, isDown := breached, down
		mu.Unlock()
		if isDown {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		prefix := strings.TrimPrefix(r.URL.Path, "/range/")
		if isBreached && prefix == sha1Prefix(newPassword) {
			fmt.Fprintf(w, "%s:42\r\n", sha1Suffix(newPassword))
		}
		fmt.Fprintf(w, "%s:0\r\n", strings.Repeat("A", 35))
	}))
	t.Cleanup(srv.Close)
	calls := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), paths...)
	}
	set := func(b, d bool) { mu.Lock(); breached, down = b, d; mu.Unlock() }

	env := apptest.New(t, apptest.Settings{"PWNED_CHECK": "true", "PWNED_API_URL": srv.URL + "/range/"})
	a := env.AddAccount(t)
	post := func(path string, b map[string]string) apptest.Response { return env.Post(t, path, body(b)) }

	// Wrong guesses and bad tokens: no outbound call.
	if got := post("/generate-otp", map[string]string{"email": a.Email}); got.Status != 200 {
		t.Fatalf("generate-otp: %d %s", got.Status, got.Body)
	}
	code := env.LastCode(t, a.Email)
	if got := post("/reset-password", map[string]string{"email": a.Email, "otp": wrong(code), "newPassword": newPassword}); got.Status != 401 {
		t.Errorf("wrong guess: got %d %s, want 401", got.Status, got.Body)
	}
	if got := post("/auth/reset-password", map[string]string{"token": strings.Repeat("cd", 32), "new_password": newPassword}); got.Status != 400 {
		t.Errorf("bad token: got %d %s, want 400", got.Status, got.Body)
	}
	if c := calls(); len(c) != 0 {
		t.Fatalf("the range API was called %v by a wrong guess or a bad token, want never", c)
	}

	// A right guess with a breached password: refused, one call, prefix only.
	got := post("/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword})
	if got.Status != 400 || got.JSON["message"] != password.ReasonBreached {
		t.Errorf("breached password: got %d %s, want 400 %q", got.Status, got.Body, password.ReasonBreached)
	}
	if c := calls(); len(c) != 1 || c[0] != "/range/"+sha1Prefix(newPassword) {
		t.Errorf("range API saw %q, want one GET of /range/%s", c, sha1Prefix(newPassword))
	}
	if !env.PasswordIs(t, a.ID, a.Password) {
		t.Error("the old password no longer verifies after a refused reset")
	}

	// The API failing: the same right guess goes through.
	set(true, true)
	got = post("/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword})
	if got.Status != 200 {
		t.Errorf("range API down: got %d %s, want 200 (fail open)", got.Status, got.Body)
	}
	if !env.PasswordIs(t, a.ID, newPassword) {
		t.Error("range API down: the new password was not set")
	}
	log := env.Log.String()
	if !strings.Contains(log, "breached-password check failed") {
		t.Errorf("range API down: no warning logged; log:\n%s", log)
	}
	for _, secret := range []string{newPassword, sha1Prefix(newPassword), sha1Suffix(newPassword)} {
		if strings.Contains(strings.ToUpper(log), strings.ToUpper(secret)) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func sha1Prefix(s string) string { return sha1Hex(s)[:5] }
func sha1Suffix(s string) string { return sha1Hex(s)[5:] }
