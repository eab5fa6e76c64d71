package deploy_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dynamotypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go/middleware"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/keysecret"
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

// hmacKeySecretARN is the HMAC key secret as the recorded functions are
// told of it (HMAC_KEY_SECRET_ARN).
const hmacKeySecretARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:passreset-hmac-AbCdEf"

// configurationSet is the SES configuration set the recorded functions
// send with (SES_CONFIGURATION_SET), as the template's MailConfigurationSet
// gives them one.
const configurationSet = "passreset-mail"

// configurationSetResource is how record notes a send's configuration set,
// apart from its sender: "configuration-set/" and the set's name, as the
// end of its ARN reads.
const configurationSetResource = "configuration-set/"

// callRecorder sends requests through the service and gives the IAM
// actions each one needed to the function that serves its route, as API
// Gateway would send it there.
//
// Each function runs as its own instance over the handler Lambda runs, as
// deployed: the HMAC key is in Secrets Manager (a fake holding a secret of
// the template's shape), read by an instance the first time its code needs
// it, so a function that never needs the key is seen never to read it.
// apptest records the DynamoDB actions; record notes the rest: the secret
// read, the address each mail is sent from, and the users-table attributes
// each update names.
type callRecorder struct {
	t       *testing.T
	env     *apptest.Env
	acts    *apptest.Actions
	handler map[string]*gateway.Handler // function dir -> its handler
	// revealing is each function's handler with REVEAL_UNKNOWN_ACCOUNTS=true,
	// whose flows look accounts up where the default's do not; reveal says
	// which set do uses.
	revealing map[string]*gateway.Handler
	reveal    bool
	owner     map[string]string // route key -> function dir
	served    map[string]int    // route key -> requests
	seen      observed
	// updated is, for each function, the users-table attributes its
	// updates named, by the variables naming them (USERS_PASSWORD_ATTRIBUTE
	// ...), and the ReturnValues they asked for ("" when none).
	updated  map[string]map[string]bool
	returned map[string]map[string]bool
	// queried is, likewise, the users-table attributes each function's
	// Queries named (the index key and the projection), and selected the
	// Select values they sent.
	queried  map[string]map[string]bool
	selected map[string]map[string]bool

	mu      sync.Mutex
	noted   []apptest.Action // since the last take; Resource is the secret read or the mail's sender
	updates []usersUpdate    // since the last take
	queries []usersUpdate    // since the last take; returns holds Select
}

// A usersUpdate is one UpdateItem of the users table, alone or in a
// transaction: the attribute names it carries (the key's and those its
// expressions name; pkg/dynamo builds every expression with placeholders)
// and its ReturnValues.
type usersUpdate struct {
	attributes []string
	returns    string
	sessions   bool // a Query of the sessions table, not the users table
}

func newCallRecorder(t *testing.T) *callRecorder {
	// With a sessions table, so the functions that complete resets are seen
	// to end sessions; a variant without one is held to no such grant.
	env := apptest.New(t, apptest.WithSessions(apptest.Settings{"SES_CONFIGURATION_SET": configurationSet}))
	r := &callRecorder{
		t: t, env: env, acts: env.RecordActions(t), handler: map[string]*gateway.Handler{}, revealing: map[string]*gateway.Handler{},
		owner: map[string]string{}, served: map[string]int{}, seen: observed{},
		updated: map[string]map[string]bool{}, returned: map[string]map[string]bool{},
		queried: map[string]map[string]bool{}, selected: map[string]map[string]bool{},
	}
	secrets := fakeSecretsManager(t, hmacKeySecretARN, templateSecret(t))
	cfg := env.Config
	cfg.HMACKeySecretARN = hmacKeySecretARN
	awsCfg := function.LocalConfig()
	awsCfg.APIOptions = []func(*middleware.Stack) error{r.record}
	clients := function.ClientsAt(awsCfg, function.Endpoints{SES: env.Stack.SESEndpoint})
	clients.Secrets = keysecret.New(awsCfg, secrets.URL)
	// env.DB is the client apptest records actions on.
	clients.DynamoDB = dynamodb.New(env.DB.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(slices.Clip(o.APIOptions), r.record)
	})
	log := slog.New(slog.NewTextHandler(env.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for dir, keys := range gateway.FunctionRoutes() {
		svc, err := function.NewServiceWith(cfg, clients, log, env.Clock.Now)
		if err != nil {
			t.Fatalf("function %s: %v", logicalID(dir), err)
		}
		if r.handler[dir], err = gateway.ForFunctionWithOptions(dir, svc.Flows, log, function.PageOptions(cfg)); err != nil {
			t.Fatalf("function %s: %v", logicalID(dir), err)
		}
		revealing := cfg
		revealing.Reset.RevealUnknownAccounts = true
		if svc, err = function.NewServiceWith(revealing, clients, log, env.Clock.Now); err != nil {
			t.Fatalf("function %s: %v", logicalID(dir), err)
		}
		if r.revealing[dir], err = gateway.ForFunctionWithOptions(dir, svc.Flows, log, function.PageOptions(revealing)); err != nil {
			t.Fatalf("function %s: %v", logicalID(dir), err)
		}
		r.seen[dir] = map[grant]bool{}
		r.updated[dir] = map[string]bool{}
		r.returned[dir] = map[string]bool{}
		r.queried[dir] = map[string]bool{}
		r.selected[dir] = map[string]bool{}
		for _, k := range keys {
			r.owner[k] = dir
		}
	}
	return r
}

// record is an SDK middleware noting, before each call is sent, what the
// template's conditions look at and apptest's actions do not: the secret a
// read names, the address a mail is sent from and the configuration set it
// names, and the attributes a users-table update names.
func (r *callRecorder) record(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("deploy.record",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.note(in.Parameters)
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

func (r *callRecorder) note(params any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	update := func(table *string, key map[string]dynamotypes.AttributeValue, names map[string]string, returns string) {
		if aws.ToString(table) != r.env.Config.Users.Name {
			return
		}
		u := usersUpdate{returns: returns}
		for k := range key {
			u.attributes = append(u.attributes, k)
		}
		for _, n := range names {
			u.attributes = append(u.attributes, n)
		}
		r.updates = append(r.updates, u)
	}
	switch in := params.(type) {
	case *secretsmanager.GetSecretValueInput:
		r.noted = append(r.noted, apptest.Action{Name: "secretsmanager:GetSecretValue", Resource: aws.ToString(in.SecretId)})
	case *sesv2.SendEmailInput:
		r.noted = append(r.noted, apptest.Action{Name: "ses:SendEmail", Resource: aws.ToString(in.FromEmailAddress)})
		// SES authorises a send against each resource it names: the
		// identity of the sender, and the configuration set.
		if in.ConfigurationSetName != nil {
			r.noted = append(r.noted, apptest.Action{Name: "ses:SendEmail", Resource: configurationSetResource + aws.ToString(in.ConfigurationSetName)})
		}
	case *dynamodb.QueryInput:
		if t := aws.ToString(in.TableName); t == r.env.Config.Users.Name || t == r.env.Config.Sessions.Name {
			q := usersUpdate{returns: string(in.Select), sessions: t == r.env.Config.Sessions.Name}
			for _, n := range in.ExpressionAttributeNames {
				q.attributes = append(q.attributes, n)
			}
			r.queries = append(r.queries, q)
		}
	case *dynamodb.UpdateItemInput:
		update(in.TableName, in.Key, in.ExpressionAttributeNames, string(in.ReturnValues))
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			if u := it.Update; u != nil {
				update(u.TableName, u.Key, u.ExpressionAttributeNames, "")
			}
		}
	}
}

// take returns what was noted since the last take, and forgets it.
func (r *callRecorder) take() ([]apptest.Action, []usersUpdate, []usersUpdate) {
	r.mu.Lock()
	defer r.mu.Unlock()
	noted, updates, queries := r.noted, r.updates, r.queries
	r.noted, r.updates, r.queries = nil, nil, nil
	return noted, updates, queries
}

// do sends req and wants status back, so each scenario is known to take
// the path it names.
func (r *callRecorder) do(req apptest.Request, status int) apptest.Response {
	r.t.Helper()
	if req.Method == "" {
		req.Method = "POST"
	}
	key, _, ok := apigwtest.Match(gateway.RouteKeys(), req.Method, req.Path)
	if !ok {
		r.t.Fatalf("no route for %s %s", req.Method, req.Path)
	}
	dir, ok := r.owner[key]
	if !ok {
		r.t.Fatalf("route %s has no function in gateway.FunctionRoutes()", key)
	}
	r.acts.Take()
	r.take()
	h := r.handler[dir]
	if r.reveal {
		h = r.revealing[dir]
	}
	out, err := h.Handle(r.t.Context(), r.env.Event(r.t, req))
	if err != nil {
		r.t.Fatalf("%s %s: %v", req.Method, req.Path, err)
	}
	resp := apptest.Response{Status: out.StatusCode, Headers: out.Headers, Body: out.Body}
	if resp.Status != status {
		r.t.Errorf("%s %s: got %d %s, want %d", req.Method, req.Path, resp.Status, resp.Body, status)
	}
	r.served[key]++
	noted, updates, queries := r.take()
	for _, a := range append(r.acts.Take(), noted...) {
		if a.Name == "ses:SendEmail" && !strings.HasPrefix(a.Resource, configurationSetResource) && a.Resource != r.env.Config.Mail.From {
			r.t.Errorf("function %s, route %s: sends mail from %q, but its policy allows MAIL_FROM (%s) only (ses:FromAddress)", logicalID(dir), key, a.Resource, r.env.Config.Mail.From)
			continue
		}
		res, ok := r.resourceOf(a)
		if !ok {
			r.t.Errorf("function %s, route %s: %s on %q, a resource this test does not know", logicalID(dir), key, a.Name, a.Resource)
			continue
		}
		r.seen[dir][grant{a.Name, res}] = true
	}
	vars := attributeVariables(r.env.Config.Users)
	for _, u := range updates {
		for _, a := range u.attributes {
			v, ok := vars[a]
			if !ok {
				r.t.Errorf("function %s, route %s: updates users-table attribute %q, which no USERS_* variable names", logicalID(dir), key, a)
				continue
			}
			r.updated[dir][v] = true
		}
		r.returned[dir][u.returns] = true
	}
	for _, q := range queries {
		names, table := vars, "users-table"
		if q.sessions {
			names, table = sessionsAttributeVariables(r.env.Config.Sessions), "sessions-table"
		}
		for _, a := range q.attributes {
			v, ok := names[a]
			if !ok {
				r.t.Errorf("function %s, route %s: queries %s attribute %q, which no variable names", logicalID(dir), key, table, a)
				continue
			}
			r.queried[dir][v] = true
		}
		r.selected[dir][q.returns] = true
	}
	return resp
}

// resourceOf names the template resource an observed action was on.
func (r *callRecorder) resourceOf(a apptest.Action) (resource, bool) {
	users, sessions := r.env.Config.Users, r.env.Config.Sessions
	switch {
	case strings.HasPrefix(a.Name, "ses:") && strings.HasPrefix(a.Resource, configurationSetResource):
		return sesConfigurationSet, a.Resource == configurationSetResource+r.env.Config.Mail.ConfigurationSet
	case strings.HasPrefix(a.Name, "ses:"):
		return sesIdentity, true
	case strings.HasPrefix(a.Name, "secretsmanager:"):
		return hmacKey, a.Resource == hmacKeySecretARN
	case a.Resource == r.env.Config.TokensTable:
		return tokensTable, true
	case a.Resource == users.Name:
		return usersTable, true
	case users.EmailIndex != "" && a.Resource == users.Name+"/index/"+users.EmailIndex:
		return usersEmailIndex, true
	case users.UsernameIndex != "" && a.Resource == users.Name+"/index/"+users.UsernameIndex:
		return usersUsernameIndex, true
	case sessions.Name != "" && a.Resource == sessions.Name:
		return sessionsTable, true
	case sessions.Name != "" && a.Resource == sessions.Name+"/index/"+sessions.AccountIndex:
		return sessionsIndex, true
	}
	return "", false
}

// attributeVariables maps each users-table attribute name of u to the
// variable that names it.
func attributeVariables(u dynamo.UsersTable) map[string]string {
	vars := map[string]string{}
	for v, name := range map[string]string{
		"USERS_KEY_ATTRIBUTE":                 u.KeyAttribute,
		"USERS_EMAIL_ATTRIBUTE":               u.EmailAttribute,
		"USERS_USERNAME_ATTRIBUTE":            u.UsernameAttribute,
		"USERS_PASSWORD_ATTRIBUTE":            u.PasswordAttribute,
		"USERS_SESSION_VERSION_ATTRIBUTE":     u.SessionVersionAttribute,
		"USERS_PASSWORD_CHANGED_AT_ATTRIBUTE": u.PasswordChangedAtAttribute,
		"USERS_VERIFIED_ATTRIBUTE":            u.VerifiedAttribute,
		"USERS_ENABLED_ATTRIBUTE":             u.EnabledAttribute,
		"USERS_LANGUAGE_ATTRIBUTE":            u.LanguageAttribute,
	} {
		if name != "" {
			vars[name] = v
		}
	}
	return vars
}

// sessionsAttributeVariables maps each sessions-table attribute name of t
// to the variable that names it.
func sessionsAttributeVariables(t dynamo.SessionsTable) map[string]string {
	vars := map[string]string{}
	for v, name := range map[string]string{
		"SESSIONS_ACCOUNT_ATTRIBUTE":  t.AccountAttribute,
		"SESSIONS_KEY_ATTRIBUTE":      t.KeyAttribute,
		"SESSIONS_SORT_KEY_ATTRIBUTE": t.SortKeyAttribute,
	} {
		if name != "" {
			vars[name] = v
		}
	}
	return vars
}

// templateSecret is a secret as template.yaml's HmacKeySecret has Secrets
// Manager generate it: its SecretStringTemplate with GenerateStringKey set
// to PasswordLength letters and digits.
func templateSecret(t *testing.T) string {
	t.Helper()
	s, err := load(readTemplate(t), variants[0])
	if err != nil {
		t.Fatal(err)
	}
	res, _ := s.raw["Resources"].(map[string]any)
	secret, _ := res["HmacKeySecret"].(map[string]any)
	props, _ := secret["Properties"].(map[string]any)
	gen, _ := props["GenerateSecretString"].(map[string]any)
	var doc map[string]any
	if err := json.Unmarshal([]byte(fmt.Sprint(gen["SecretStringTemplate"])), &doc); err != nil {
		t.Fatalf("HmacKeySecret: SecretStringTemplate: %v", err)
	}
	n, _ := gen["PasswordLength"].(float64)
	key, _ := gen["GenerateStringKey"].(string)
	if n == 0 || key == "" {
		t.Fatalf("HmacKeySecret: GenerateSecretString %v lacks GenerateStringKey or PasswordLength", gen)
	}
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, int(n))
	for i := range b {
		b[i] = alnum[rand.IntN(len(alnum))]
	}
	doc[key] = string(b)
	out, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// fakeSecretsManager answers GetSecretValue for the one secret arn with
// value, and anything else with ResourceNotFoundException.
func fakeSecretsManager(t *testing.T, arn, value string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var in struct{ SecretId string }
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if req.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
			json.NewDecoder(req.Body).Decode(&in) != nil || in.SecretId != arn {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"ARN": arn, "Name": "passreset-hmac", "SecretString": value,
			"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv
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

// otherPassword is another new password: a used code or link with it is
// refused, where the same one again is a repeat, answered with its
// success (reset/retry.go).
const otherPassword = "amber kettle 9 orchard whistle"

// scenarios drives every route of the contract through its success and
// error paths: a send to a known and an unknown account and over a limit,
// a wrong guess, a guess with no code, a right guess, a bad and a used
// token, and family E by user name and by email.
func (r *callRecorder) scenarios() {
	env, t := r.env, r.t
	// Every account has a session, so that each completed reset deletes
	// one and its grants are seen.
	addAccount := func() apptest.Account {
		a := env.AddAccount(t)
		env.AddSessions(t, a.ID, 1)
		return a
	}
	ip := 0
	from := func() string { ip++; return fmt.Sprintf("203.0.113.%d", ip) }
	post := func(ipAddr, path string, b map[string]string, status int) apptest.Response {
		return r.do(apptest.Request{Path: path, Body: body(b), IP: ipAddr}, status)
	}

	// Family 0.
	{
		a, addr := addAccount(), from()
		post(addr, "/generate-otp", map[string]string{"email": a.Email}, 200)
		post(addr, "/generate-otp", map[string]string{"email": a.Email}, 429) // MIN_SEND_INTERVAL
		post(addr, "/generate-otp", map[string]string{"email": "nobody-0@example.test"}, 200)
		code := env.LastCode(t, a.Email)
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": wrong(code), "newPassword": newPassword}, 401)
		post(addr, "/reset-password", map[string]string{"email": "nobody-0@example.test", "otp": code, "newPassword": newPassword}, 401)
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword}, 200)
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": newPassword}, 200)   // a repeat
		post(addr, "/reset-password", map[string]string{"email": a.Email, "otp": code, "newPassword": otherPassword}, 401) // used
	}
	// Family N, both routes, and the create action served by otp-validate.
	{
		a, addr := addAccount(), from()
		post(addr, "/"+a.Email+"/reset-password", map[string]string{"otp": "123456", "new_password": newPassword}, 404) // no code
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": a.Email}, 200)
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": "nobody-n@example.test"}, 200)
		code := env.LastCode(t, a.Email)
		post(addr, "/auth/otp", map[string]string{"action": "validate", "email": a.Email, "otp": wrong(code), "new_password": newPassword}, 400)
		post(addr, "/"+a.Email+"/reset-password", map[string]string{"otp": wrong(code), "new_password": newPassword}, 400)
		post(addr, "/auth/otp", map[string]string{"action": "validate", "email": a.Email, "otp": code, "new_password": newPassword}, 200)

		b := addAccount()
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": b.Email}, 200)
		post(addr, "/"+b.Email+"/reset-password", map[string]string{"otp": env.LastCode(t, b.Email), "new_password": newPassword}, 200)

		// The two steps: a code exchanged for a grant, the grant used.
		c := addAccount()
		post(addr, "/auth/otp", map[string]string{"action": "create", "email": c.Email}, 200)
		code = env.LastCode(t, c.Email)
		post(addr, "/auth/otp", map[string]string{"action": "verify", "email": c.Email, "otp": wrong(code)}, 400)
		var granted struct{ Grant string }
		if err := json.Unmarshal([]byte(post(addr, "/auth/otp", map[string]string{"action": "verify", "email": c.Email, "otp": code}, 200).Body), &granted); err != nil {
			t.Fatalf("verify: %v", err)
		}
		post(addr, "/auth/otp", map[string]string{"action": "complete", "grant": granted.Grant, "new_password": newPassword}, 200)
		post(addr, "/auth/otp", map[string]string{"action": "complete", "grant": granted.Grant, "new_password": newPassword}, 200)   // a repeat
		post(addr, "/auth/otp", map[string]string{"action": "complete", "grant": granted.Grant, "new_password": otherPassword}, 400) // used
	}
	// Family E, by user name and by email.
	{
		a, addr := addAccount(), from()
		put := func(b map[string]string, status int) {
			r.do(apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Body: body(b), IP: addr}, status)
		}
		post(addr, "/auth/forgot-password", map[string]string{"userName": a.Username}, 201)
		post(addr, "/auth/forgot-password", map[string]string{"userName": "nobodyatall"}, 201)
		code := env.LastCode(t, a.Email)
		put(map[string]string{"userName": a.Username, "otp": wrong(code), "newPassword": newPassword}, 400)
		put(map[string]string{"userName": a.Username, "otp": code, "newPassword": newPassword}, 201)

		b := addAccount()
		post(addr, "/auth/forgot-password", map[string]string{"userEmail": b.Email}, 201)
		code = env.LastCode(t, b.Email)
		put(map[string]string{"userEmail": b.Email, "otp": wrong(code), "newPassword": newPassword}, 400)
		put(map[string]string{"userEmail": b.Email, "otp": code, "newPassword": newPassword}, 201)
	}
	// Family L, both reset routes.
	{
		a, addr := addAccount(), from()
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
		post(addr, "/auth/reset-password/"+token, map[string]string{"new_password": newPassword}, 200)   // a repeat
		post(addr, "/auth/reset-password/"+token, map[string]string{"new_password": otherPassword}, 400) // used

		b := addAccount()
		post(addr, "/auth/request-reset-password", map[string]string{"email": b.Email}, 200)
		post(addr, "/auth/reset-password/"+env.LastToken(t, b.Email), map[string]string{"new_password": newPassword}, 200)
	}
	// With REVEAL_UNKNOWN_ACCOUNTS=true a code reset looks the account up
	// first, by user name or by email.
	{
		r.reveal = true
		defer func() { r.reveal = false }()
		a, addr := addAccount(), from()
		put := func(b map[string]string, status int) {
			r.do(apptest.Request{Method: "PUT", Path: "/auth/forgot-password", Body: body(b), IP: addr}, status)
		}
		post(addr, "/auth/forgot-password", map[string]string{"userName": a.Username}, 201)
		post(addr, "/auth/forgot-password", map[string]string{"userName": "nobodyatall"}, 400)
		code := env.LastCode(t, a.Email)
		put(map[string]string{"userName": a.Username, "otp": wrong(code), "newPassword": newPassword}, 400)
		put(map[string]string{"userName": "nobodyatall", "otp": code, "newPassword": newPassword}, 400)
		post(addr, "/auth/otp", map[string]string{"action": "validate", "email": "nobody-r@example.test", "otp": code, "new_password": newPassword}, 404)
	}
}

// TestPoliciesAreWhatTheCodeCalls runs every route of every function on the
// emulators, records the IAM action behind each AWS call (the item-level
// actions inside a transaction, the index a Query reads, the HMAC key
// secret read from Secrets Manager) and holds each function's policy in the
// template to exactly that: an action granted that no route of the
// function calls fails, and so does an action called that the policy does
// not grant. It holds the conditions to the calls too: every mail is sent
// from MAIL_FROM (ses:FromAddress), and the users-table attributes the
// function's updates name are exactly those its policy's
// dynamodb:Attributes lists, with a ReturnValues it allows.
func TestPoliciesAreWhatTheCodeCalls(t *testing.T) {
	r := newCallRecorder(t)
	r.scenarios()
	if t.Failed() {
		t.FailNow()
	}
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		for _, key := range gateway.FunctionRoutes()[dir] {
			if r.served[key] == 0 {
				t.Errorf("function %s: no scenario sends route %s; add one to scenarios", logicalID(dir), key)
			}
		}
	}
	for _, s := range loadVariants(t) {
		if s.v.webhook() || s.v.cognito() {
			// The recorder runs the dynamodb back-end; the webhook and
			// Cognito variants' grants are held to permissionsOf by
			// checkPolicies and the SAM translation instead.
			continue
		}
		for _, p := range r.compare(s) {
			t.Errorf("%s: %s", s.v.name, p)
		}
	}

	// The comparison can be seen to fail: a template granting one action
	// too many, one lacking an action the code calls, and one whose
	// condition refuses an attribute the code's update names.
	good := string(readTemplate(t))
	broken := []struct {
		name, old, new, want string
		variant              string // the variant to load; "": the first
	}{
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
		{
			name: "HMAC key secret granted, never read",
			old:  "            # No HmacKey:",
			new:  "            - Sid: HmacKey\n              Effect: Allow\n              Action: [secretsmanager:GetSecretValue]\n              Resource: !Ref HmacKeySecret\n            # No HmacKey:",
			want: "function PasswordResetFunction: grants secretsmanager:GetSecretValue on ${HmacKeySecret}, but no route it serves calls it",
		},
		{
			name: "queried attribute not listed",
			old:  "!Ref UsersUsernameAttribute, !Ref UsersSessionVersionAttribute,",
			new:  "!Ref UsersUsernameAttribute,",
			want: `function OtpCreateFunction: its users-table queries name USERS_SESSION_VERSION_ATTRIBUTE ("session_version"), which its policy's dynamodb:Attributes does not list`,
		},
		{
			name: "configuration set not granted",
			old:  "                - !Sub \"arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}\"\n",
			new:  "",
			want: "function OtpCreateFunction: calls ses:SendEmail on arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}, which its policy does not grant",
		},
		{
			name: "updated attribute not listed",
			old:  "                      - !Ref UsersSessionVersionAttribute\n",
			new:  "",
			want: `function OtpValidateFunction: its users-table updates name USERS_SESSION_VERSION_ATTRIBUTE ("session_version"), which its policy's dynamodb:Attributes does not list`,
		},
		{
			name:    "sessions not deleted though called",
			old:     "                Action: [dynamodb:BatchWriteItem]\n",
			new:     "                Action: [dynamodb:DeleteItem]\n",
			want:    "function OtpValidateFunction: calls dynamodb:BatchWriteItem on arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/app-sessions, which its policy does not grant",
			variant: "sessions table",
		},
		{
			name:    "sessions query may read more than the keys",
			old:     "                      !Ref SessionsAccountAttribute, !Ref SessionsKeyAttribute,\n",
			new:     "                      !Ref SessionsAccountAttribute,\n",
			want:    `function OtpValidateFunction: its sessions-table queries name SESSIONS_KEY_ATTRIBUTE ("sid"), which its policy's dynamodb:Attributes does not list`,
			variant: "sessions table",
		},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			if !strings.Contains(good, b.old) {
				t.Fatalf("template.yaml no longer contains %q; update this case", b.old)
			}
			v := variants[0]
			for _, w := range variants {
				if w.name == b.variant {
					v = w
				}
			}
			s, err := load([]byte(strings.Replace(good, b.old, b.new, 1)), v)
			if err != nil {
				t.Fatalf("load broken template: %v", err)
			}
			problems := r.compare(s)
			for _, p := range problems {
				if strings.Contains(p, b.want) {
					return
				}
			}
			t.Errorf("got problems %q, want one containing %q", problems, b.want)
		})
	}
}

// compare reports every way the policies of s differ from what the
// recorded calls needed.
func (r *callRecorder) compare(s *stack) []string {
	problems := append(compareCalls(s, r.seen), compareUpdates(s, r.updated, r.returned)...)
	return append(problems, compareQueries(s, r.queried, r.selected)...)
}

// compareQueries reports, for each function of s, every attribute its
// recorded users-table Queries named that its policy's Query grant does
// not list in dynamodb:Attributes, a list naming the password attribute,
// and a Select other than the SPECIFIC_ATTRIBUTES the policy requires: so
// a lookup can never read a password hash, even from a team's index that
// projects ALL.
func compareQueries(s *stack, queried, selected map[string]map[string]bool) []string {
	var problems []string
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		env := s.env(dir)
		for _, st := range allowStatements(s, id) {
			if !st.allows("dynamodb:Query") {
				continue
			}
			listed, ok := st.condition("ForAllValues:StringEquals", "dynamodb:Attributes")
			if !ok {
				problems = append(problems, fmt.Sprintf("function %s: statement %s may Query any attribute of the users table, the password hash too", id, st.name()))
				continue
			}
			if slices.Contains(listed, env["USERS_PASSWORD_ATTRIBUTE"]) {
				problems = append(problems, fmt.Sprintf("function %s: statement %s lets a Query read the password attribute", id, st.name()))
			}
			// A statement on the sessions index is held to the sessions
			// table's attributes, any other to the users table's.
			prefix, table := "USERS_", "users-table"
			if s.arn(sessionsIndex) != "" && st.on(s.arn(sessionsIndex)) {
				prefix, table = "SESSIONS_", "sessions-table"
			}
			for _, v := range sortedKeys(queried[dir]) {
				// A variant without that attribute does not query it.
				if !strings.HasPrefix(v, prefix) {
					continue
				}
				if env[v] != "" && !slices.Contains(listed, env[v]) {
					problems = append(problems, fmt.Sprintf("function %s: its %s queries name %s (%q), which its policy's dynamodb:Attributes does not list", id, table, v, env[v]))
				}
			}
			sel, ok := st.condition("StringEquals", "dynamodb:Select")
			if !ok || !slices.Equal(sel, []string{"SPECIFIC_ATTRIBUTES"}) {
				problems = append(problems, fmt.Sprintf("function %s: statement %s does not require dynamodb:Select SPECIFIC_ATTRIBUTES", id, st.name()))
			}
			for _, v := range sortedKeys(selected[dir]) {
				if v != "SPECIFIC_ATTRIBUTES" {
					problems = append(problems, fmt.Sprintf("function %s: a users-table query selects %q, which its policy refuses", id, v))
				}
			}
		}
	}
	return problems
}

// compareUpdates reports, for each function of s whose policy limits its
// users-table updates to the attributes in dynamodb:Attributes (see
// checkUsersTableUpdates), every attribute its recorded updates named that
// the list lacks, every attribute the list allows that no update named,
// and every ReturnValues asked for that the policy refuses. updated holds
// the variables naming the attributes, so that each variant is held to its
// own names.
func compareUpdates(s *stack, updated, returned map[string]map[string]bool) []string {
	var problems []string
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		env := s.env(dir)
		for _, st := range allowStatements(s, id) {
			if !st.allows("dynamodb:UpdateItem") || !st.on(s.arn(usersTable)) {
				continue
			}
			listed, ok := st.condition("ForAllValues:StringEquals", "dynamodb:Attributes")
			if !ok {
				continue // checkUsersTableUpdates reports it
			}
			named := map[string]bool{}
			for _, v := range sortedKeys(updated[dir]) {
				named[env[v]] = true
				if !slices.Contains(listed, env[v]) {
					problems = append(problems, fmt.Sprintf("function %s: its users-table updates name %s (%q), which its policy's dynamodb:Attributes does not list", id, v, env[v]))
				}
			}
			for _, a := range listed {
				if !named[a] {
					problems = append(problems, fmt.Sprintf("function %s: its policy's dynamodb:Attributes lists %q of the users table, which no update of a route it serves names", id, a))
				}
			}
			allowed, ok := st.condition("StringEqualsIfExists", "dynamodb:ReturnValues")
			if !ok {
				allowed, ok = st.condition("StringEquals", "dynamodb:ReturnValues")
			}
			for _, rv := range sortedKeys(returned[dir]) {
				// An update in a transaction has no ReturnValues; an
				// UpdateItem without one has NONE.
				if ok && rv != "" && !slices.Contains(allowed, rv) {
					problems = append(problems, fmt.Sprintf("function %s: a users-table update asks for ReturnValues %s, which its policy refuses", id, rv))
				}
			}
		}
	}
	return problems
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
			// A resource the variant does not have is one its code
			// would not call: a lookup by user name without a user-name
			// index finds no account without asking DynamoDB.
			if s.arn(g.resource) != "" {
				want[g.action+" on "+s.arn(g.resource)] = true
			}
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
	got := map[string]bool{}
	for _, st := range allowStatements(s, id) {
		for _, a := range list(st["Action"]) {
			for _, r := range list(st["Resource"]) {
				got[fmt.Sprintf("%v on %v", a, r)] = true
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
