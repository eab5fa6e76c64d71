package deploy_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/gateway"
)

// A resource is something a function may be granted: one table, one index,
// the SES identity, the SES configuration set or the HMAC key secret.
type resource string

const (
	tokensTable         resource = "tokens table"
	usersTable          resource = "users table"
	usersEmailIndex     resource = "users email index"
	usersUsernameIndex  resource = "users username index"
	sesIdentity         resource = "SES identity"
	sesConfigurationSet resource = "SES configuration set"
	hmacKey             resource = "HMAC key secret"
	// The app's sessions table and its account index, where a variant
	// names one (SessionsTableName).
	sessionsTable resource = "sessions table"
	sessionsIndex resource = "sessions account index"
	// The Cognito user pool, where a variant keeps its accounts in one.
	userPool resource = "Cognito user pool"
)

// permissions is every action each function's code calls, on what. It is
// both the floor and the ceiling of the function's policy: a change to the
// code's calls changes this table and the template together. DynamoDB
// transactions need the item-level action of each part; IAM has no
// TransactWriteItems action. The reset flows read the account by key
// (GetItem) once the code or link is proved; the send flows read it from
// an index. Only the functions that hash codes or name an account's
// records read the HMAC key: a link token is looked up by its plain
// SHA-256. A mail names the configuration set it is sent with, and SES
// authorises the send against it as against the identity.
var permissions = map[string]map[resource][]string{
	"otp-create": {
		tokensTable:         {"dynamodb:UpdateItem"},
		usersEmailIndex:     {"dynamodb:Query"},
		usersUsernameIndex:  {"dynamodb:Query"},
		sesIdentity:         {"ses:SendEmail"},
		sesConfigurationSet: {"ses:SendEmail"},
		hmacKey:             {"secretsmanager:GetSecretValue"},
		userPool:            {"cognito-idp:ListUsers", "cognito-idp:AdminGetUser"},
	},
	"otp-validate": {
		// PutItem, GetItem, DeleteItem, ConditionCheckItem: the two-step
		// reset's grant, and every completion's receipt (pkg/dynamo).
		tokensTable:         {"dynamodb:UpdateItem", "dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"},
		usersEmailIndex:     {"dynamodb:Query"},
		usersUsernameIndex:  {"dynamodb:Query"},
		usersTable:          {"dynamodb:GetItem", "dynamodb:UpdateItem"},
		sesIdentity:         {"ses:SendEmail"},
		sesConfigurationSet: {"ses:SendEmail"},
		hmacKey:             {"secretsmanager:GetSecretValue"},
		sessionsIndex:       {"dynamodb:Query"},
		sessionsTable:       {"dynamodb:BatchWriteItem"},
		userPool:            {"cognito-idp:ListUsers", "cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminUserGlobalSignOut"},
	},
	"link-request": {
		tokensTable:         {"dynamodb:UpdateItem", "dynamodb:PutItem"},
		usersEmailIndex:     {"dynamodb:Query"},
		sesIdentity:         {"ses:SendEmail"},
		sesConfigurationSet: {"ses:SendEmail"},
		hmacKey:             {"secretsmanager:GetSecretValue"},
		userPool:            {"cognito-idp:ListUsers"},
	},
	"password-reset": {
		tokensTable:         {"dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:PutItem"},
		usersTable:          {"dynamodb:GetItem", "dynamodb:UpdateItem"},
		sesIdentity:         {"ses:SendEmail"},
		sesConfigurationSet: {"ses:SendEmail"},
		sessionsIndex:       {"dynamodb:Query"},
		sessionsTable:       {"dynamodb:BatchWriteItem"},
		userPool:            {"cognito-idp:AdminGetUser", "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminUserGlobalSignOut"},
	},
}

// permissionsOf is permissions[dir] as v deploys it: with the webhook or
// Cognito back-end the users table's actions are gone, and the user pool's
// are there only with Cognito (arn gives the others none). (A right code
// claimed in a transaction checks the owner's item with
// dynamodb:ConditionCheckItem, pkg/dynamo's ClaimCode, which otp-validate
// holds on every back-end for the grant.)
func permissionsOf(v variant, dir string) (map[resource][]string, bool) {
	p, ok := permissions[dir]
	return p, ok
}

// completesResets reports whether the function serving dir completes
// resets: it changes passwords (the users table's UpdateItem), so it ends
// sessions too, and only it is told of the sessions table.
func completesResets(dir string) bool {
	return slices.Contains(permissions[dir][usersTable], "dynamodb:UpdateItem")
}

// sessionsVariables are the variables naming the sessions table, which
// only the functions that complete resets get.
var sessionsVariables = map[string]bool{
	"SESSIONS_TABLE": true, "SESSIONS_ACCOUNT_ATTRIBUTE": true, "SESSIONS_ACCOUNT_INDEX": true,
	"SESSIONS_KEY_ATTRIBUTE": true, "SESSIONS_SORT_KEY_ATTRIBUTE": true,
}

// arn is how a resource's ARN reads in a variant's processed template, ""
// for a resource the variant does not have (a users table without a
// user-name index).
func (s *stack) arn(r resource) string {
	switch r {
	case tokensTable:
		return "${TokensTable.Arn}"
	case usersTable:
		return s.v.usersTable
	case usersEmailIndex:
		if s.v.usersTable == "" {
			return ""
		}
		return s.v.usersTable + "/index/email-index"
	case usersUsernameIndex:
		if !s.v.hasUsernameIndex() || s.v.usersTable == "" {
			return ""
		}
		return s.v.usersTable + "/index/username-index"
	case sesIdentity:
		return "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SesIdentity}"
	case sesConfigurationSet:
		return "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:configuration-set/${MailConfigurationSet}"
	case hmacKey:
		return "${HmacKeySecret}"
	case sessionsTable:
		if s.v.sessionsTable() == "" {
			return ""
		}
		return "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/" + s.v.sessionsTable()
	case sessionsIndex:
		if s.v.sessionsTable() == "" {
			return ""
		}
		return "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/" + s.v.sessionsTable() + "/index/" + s.v.param("SessionsAccountIndexName")
	case userPool:
		if !s.v.cognito() {
			return ""
		}
		return "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/" + s.v.param("CognitoUserPoolId")
	}
	panic("unknown resource " + string(r))
}

// localOnly are the variables pkg/config reads that a deployed function
// must not get: the HMAC key in plain text, for local runs. Deployed, the
// key comes from the secret (HMAC_KEY_SECRET_ARN).
var localOnly = map[string]bool{"HMAC_KEY": true, "HMAC_KEY_ID": true, "CAPTCHA_VERIFY_URL": true}

// sendsOnly are the variables only the functions that send get: the bot
// defence's secret, which only they use (gateway.Function.Sends).
var sendsOnly = map[string]bool{"CAPTCHA_SECRET": true}

// sends reports whether the function serving dir sends codes or links.
func sends(dir string) bool {
	for _, f := range gateway.Functions() {
		if f.Name == dir {
			return f.Sends()
		}
	}
	return false
}

// environment is every variable the code reads at cold start
// (config.Variables) that the template must set on every function.
func environment() []string {
	var names []string
	for _, v := range config.Variables {
		if !localOnly[v.Name] {
			names = append(names, v.Name)
		}
	}
	return names
}

const (
	wantRuntime   = "provided.al2023"
	wantArch      = "arm64"
	wantHandler   = "bootstrap"
	executeAPIURL = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
)

// functionDir maps a logical ID to its directory under functions/ by the
// template's convention: OtpCreateFunction serves functions/otp-create.
func functionDir(logicalID string) string {
	var b strings.Builder
	for i, r := range strings.TrimSuffix(logicalID, "Function") {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// functions are the template's functions by directory name.
func (s *stack) functions() map[string]*serverless.Function {
	byDir := map[string]*serverless.Function{}
	for id, fn := range s.tpl.GetAllServerlessFunctionResources() {
		byDir[functionDir(id)] = fn
	}
	return byDir
}

// logicalID is the inverse of functionDir, for messages.
func logicalID(dir string) string {
	var b strings.Builder
	for _, part := range strings.Split(dir, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "Function"
}

// checkFunctions: one function per directory in gateway.FunctionRoutes(), each
// a custom-runtime arm64 binary named bootstrap, built by the Makefile.
func checkFunctions(s *stack) []string {
	var problems []string
	fns := s.functions()
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		if fns[dir] == nil {
			problems = append(problems, fmt.Sprintf("function %s (functions/%s) is missing", logicalID(dir), dir))
		}
	}
	g, _ := s.tpl.GetServerlessGlobalFunction()
	for _, dir := range sortedKeys(fns) {
		fn, id := fns[dir], logicalID(dir)
		if _, ok := gateway.FunctionRoutes()[dir]; !ok {
			problems = append(problems, fmt.Sprintf("function %s: functions/%s is not in gateway.FunctionRoutes()", id, dir))
		}
		runtime, handler, arch := fn.Runtime, fn.Handler, fn.Architectures
		if g != nil {
			if runtime == nil {
				runtime = g.Runtime
			}
			if handler == nil {
				handler = g.Handler
			}
			if arch == nil && g.Architectures != nil {
				arch = *g.Architectures
			}
		}
		if got := deref(runtime); got != wantRuntime {
			problems = append(problems, fmt.Sprintf("function %s: Runtime %q, want %q", id, got, wantRuntime))
		}
		if got := deref(handler); got != wantHandler {
			problems = append(problems, fmt.Sprintf("function %s: Handler %q, want %q", id, got, wantHandler))
		}
		if !slices.Equal(arch, []string{wantArch}) {
			problems = append(problems, fmt.Sprintf("function %s: Architectures %q, want [%s]", id, arch, wantArch))
		}
		if fn.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
			problems = append(problems, fmt.Sprintf("function %s: Metadata.BuildMethod %v, want makefile (the Makefile's build-%s)", id, fn.AWSCloudFormationMetadata["BuildMethod"], id))
		}
		if fn.CodeUri == nil || deref(fn.CodeUri.String) != "." {
			problems = append(problems, fmt.Sprintf("function %s: CodeUri is not \".\" (the Makefile builds from the module root)", id))
		}
		if fn.Role != nil {
			problems = append(problems, fmt.Sprintf("function %s: has its own Role, which bypasses the checked Policies", id))
		}
	}
	return problems
}

// checkRoutes: the (function, route key) pairs wired in the template equal
// gateway.FunctionRoutes(), both as function events and as the API's own
// integrations, which name each function by its fixed FunctionName.
func checkRoutes(s *stack) []string {
	var problems []string
	want := map[string]string{} // route key -> function dir
	for dir, keys := range gateway.FunctionRoutes() {
		for _, k := range keys {
			want[k] = dir
		}
	}
	events := map[string]string{}
	fns := s.functions()
	for _, dir := range sortedKeys(fns) {
		fn, id := fns[dir], logicalID(dir)
		if got, wantName := deref(fn.FunctionName), "${AWS::StackName}-"+dir; got != wantName {
			problems = append(problems, fmt.Sprintf("function %s: FunctionName %q, want %q (HttpApi's integrations name it)", id, got, wantName))
		}
		for _, name := range sortedKeys(fn.Events) {
			ev := fn.Events[name]
			var p *serverless.Function_HttpApiEvent
			if ev.Properties != nil {
				p = ev.Properties.HttpApiEvent
			}
			if ev.Type != "HttpApi" || p == nil {
				problems = append(problems, fmt.Sprintf("function %s: event %s is %q, want HttpApi with ApiId, Method, Path", id, name, ev.Type))
				continue
			}
			if got := deref(p.ApiId); got != "${HttpApi}" {
				problems = append(problems, fmt.Sprintf("function %s: event %s: ApiId %q, want !Ref HttpApi", id, name, got))
			}
			key := strings.ToUpper(deref(p.Method)) + " " + deref(p.Path)
			events[key] = dir
		}
	}
	problems = append(problems, comparePairs("function events", events, want)...)

	api, err := s.tpl.GetServerlessHttpApiWithName("HttpApi")
	if err != nil {
		return append(problems, "HttpApi (AWS::Serverless::HttpApi) is missing")
	}
	if r := api.DefaultRouteSettings; r == nil || r.ThrottlingBurstLimit == nil || r.ThrottlingRateLimit == nil {
		problems = append(problems, "HttpApi: DefaultRouteSettings lacks ThrottlingBurstLimit or ThrottlingRateLimit")
	}
	integrations := map[string]string{}
	body, _ := api.DefinitionBody.(map[string]any)
	paths, _ := body["paths"].(map[string]any)
	for _, path := range sortedKeys(paths) {
		methods, _ := paths[path].(map[string]any)
		for _, method := range sortedKeys(methods) {
			key := strings.ToUpper(method) + " " + path
			op, _ := methods[method].(map[string]any)
			in, _ := op["x-amazon-apigateway-integration"].(map[string]any)
			u, _ := in["uri"].(string)
			m := integrationURI.FindStringSubmatch(u)
			if m == nil {
				problems = append(problems, fmt.Sprintf("HttpApi route %s: integration uri %q does not name a function by ${AWS::StackName}-<dir>", key, u))
				continue
			}
			integrations[key] = m[1]
		}
	}
	problems = append(problems, comparePairs("HttpApi integrations", integrations, want)...)
	return problems
}

// integrationURI is the end of an HttpApi integration uri naming a function
// by its fixed name; the group is the function's directory.
var integrationURI = regexp.MustCompile(`:function:\$\{AWS::StackName\}-([a-z-]+)/invocations$`)

func comparePairs(where string, got, want map[string]string) []string {
	var problems []string
	for _, key := range sortedKeys(want) {
		switch dir, ok := got[key]; {
		case !ok:
			problems = append(problems, fmt.Sprintf("%s: route %s is missing (gateway.FunctionRoutes() gives it to %s)", where, key, logicalID(want[key])))
		case dir != want[key]:
			problems = append(problems, fmt.Sprintf("%s: route %s goes to %s, gateway.FunctionRoutes() gives it to %s", where, key, logicalID(dir), logicalID(want[key])))
		}
	}
	for _, key := range sortedKeys(got) {
		if _, ok := want[key]; !ok {
			problems = append(problems, fmt.Sprintf("%s: route %s of %s is not in gateway.FunctionRoutes()", where, key, logicalID(got[key])))
		}
	}
	return problems
}

// checkTables: the tokens table expires its items and both tables bill on
// demand; accounts have point-in-time recovery and survive the stack.
func checkTables(s *stack) []string {
	var problems []string
	tokens, err := s.tpl.GetDynamoDBTableWithName("TokensTable")
	if err != nil {
		problems = append(problems, "table TokensTable is missing")
	} else {
		if got := deref(tokens.BillingMode); got != "PAY_PER_REQUEST" {
			problems = append(problems, fmt.Sprintf("table TokensTable: BillingMode %q, want PAY_PER_REQUEST", got))
		}
		if ttl := tokens.TimeToLiveSpecification; ttl == nil || !ttl.Enabled || deref(ttl.AttributeName) != "expires_at" {
			problems = append(problems, "table TokensTable: TTL is not enabled on expires_at")
		}
		if len(tokens.KeySchema) != 1 || tokens.KeySchema[0].AttributeName != "pk" || tokens.KeySchema[0].KeyType != "HASH" {
			problems = append(problems, fmt.Sprintf("table TokensTable: KeySchema %+v, want pk HASH only", tokens.KeySchema))
		}
		if tokens.SSESpecification == nil || !tokens.SSESpecification.SSEEnabled {
			problems = append(problems, "table TokensTable: SSE is not enabled")
		}
	}
	if tokens, ok := s.resource("TokensTable"); ok && (tokens["DeletionPolicy"] != "Delete" || tokens["UpdateReplacePolicy"] != "Delete") {
		// Short-lived state only: see the template's comment on TokensTable.
		problems = append(problems, fmt.Sprintf("table TokensTable: DeletionPolicy %v and UpdateReplacePolicy %v, want Delete, stated", tokens["DeletionPolicy"], tokens["UpdateReplacePolicy"]))
	}
	if !s.v.createsUsersTable() {
		return problems // the team's table: nothing of it is in the template
	}
	users, err := s.tpl.GetDynamoDBTableWithName("UsersTable")
	if err != nil {
		return append(problems, "table UsersTable is missing")
	}
	if users.DeletionProtectionEnabled == nil || !*users.DeletionProtectionEnabled {
		problems = append(problems, "table UsersTable: DeletionProtectionEnabled is not true")
	}
	if got := deref(users.BillingMode); got != "PAY_PER_REQUEST" {
		problems = append(problems, fmt.Sprintf("table UsersTable: BillingMode %q, want PAY_PER_REQUEST", got))
	}
	if p := users.PointInTimeRecoverySpecification; p == nil || p.PointInTimeRecoveryEnabled == nil || !*p.PointInTimeRecoveryEnabled {
		problems = append(problems, "table UsersTable: point-in-time recovery is not enabled")
	}
	if users.AWSCloudFormationDeletionPolicy != "Retain" || users.AWSCloudFormationUpdateReplacePolicy != "Retain" {
		problems = append(problems, "table UsersTable: DeletionPolicy and UpdateReplacePolicy must be Retain")
	}
	if users.AWSCloudFormationCondition != "CreateUsersTable" {
		problems = append(problems, fmt.Sprintf("table UsersTable: Condition %q, want CreateUsersTable", users.AWSCloudFormationCondition))
	}
	// What the indexes project is checkIndexProjections'.
	indexes := map[string]string{}
	for _, gsi := range users.GlobalSecondaryIndexes {
		if len(gsi.KeySchema) == 1 {
			indexes[gsi.IndexName] = gsi.KeySchema[0].AttributeName
		}
	}
	env := s.env("") // the users table's names are Globals
	for _, ix := range []struct{ index, attr string }{
		{env["USERS_EMAIL_INDEX"], env["USERS_EMAIL_ATTRIBUTE"]},
		{env["USERS_USERNAME_INDEX"], env["USERS_USERNAME_ATTRIBUTE"]},
	} {
		if indexes[ix.index] != ix.attr {
			problems = append(problems, fmt.Sprintf("table UsersTable: index %s is not HASH %s", ix.index, ix.attr))
		}
	}
	return problems
}

// checkPolicies: each function's statements grant exactly permissions[dir].
func checkPolicies(s *stack) []string {
	var problems []string
	resources, _ := s.raw["Resources"].(map[string]any)
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		allowed, ok := permissionsOf(s.v, dir)
		if !ok {
			problems = append(problems, fmt.Sprintf("function %s: no entry in the test's permissions table", id))
			continue
		}
		want := map[string]bool{} // "action on arn"
		for r, actions := range allowed {
			if s.arn(r) == "" {
				continue // not in this variant
			}
			for _, a := range actions {
				want[a+" on "+s.arn(r)] = true
			}
		}
		res, _ := resources[id].(map[string]any)
		props, _ := res["Properties"].(map[string]any)
		got := map[string]bool{}
		for _, doc := range list(props["Policies"]) {
			d, ok := doc.(map[string]any)
			if !ok || d["Statement"] == nil || len(d) > 2 || (len(d) == 2 && d["Version"] == nil) {
				problems = append(problems, fmt.Sprintf("function %s: policy %v is not an inline statement document (managed policies and SAM policy templates are too broad to check)", id, doc))
				continue
			}
			for _, st := range list(d["Statement"]) {
				stmt, _ := st.(map[string]any)
				if stmt["Effect"] == "Deny" {
					continue
				}
				if stmt["Effect"] != "Allow" || stmt["NotAction"] != nil || stmt["NotResource"] != nil {
					problems = append(problems, fmt.Sprintf("function %s: statement %v must be Effect Allow with Action and Resource", id, stmt))
					continue
				}
				for _, a := range list(stmt["Action"]) {
					for _, r := range list(stmt["Resource"]) {
						got[fmt.Sprintf("%v on %v", a, r)] = true
					}
				}
			}
		}
		for _, grant := range sortedKeys(got) {
			if !want[grant] {
				note := ""
				if strings.Contains(grant, "*") {
					note = " (wildcard)"
				}
				problems = append(problems, fmt.Sprintf("function %s: grants %s%s, which its code does not need", id, grant, note))
			}
		}
		for _, grant := range sortedKeys(want) {
			if !got[grant] {
				problems = append(problems, fmt.Sprintf("function %s: lacks %s", id, grant))
			}
		}
	}
	return problems
}

// wiredEnvironment is what the variables naming a resource or a URL of the
// stack hold in a variant, as symbolic spells it.
func wiredEnvironment(v variant) map[string]string {
	usernameIndex := "username-index"
	if !v.hasUsernameIndex() {
		usernameIndex = ""
	}
	captchaSecret := ""
	if v.param("CaptchaProvider") != "" {
		captchaSecret = "{{resolve:secretsmanager:" + v.param("CaptchaSecretArn") + ":SecretString}}"
	}
	backend, secret := "dynamodb", ""
	if v.webhook() {
		backend = "webhook"
		secret = "{{resolve:secretsmanager:" + v.param("WebhookSecretArn") + ":SecretString}}"
	}
	if v.cognito() {
		backend = "cognito"
	}
	return map[string]string{
		"TOKENS_TABLE":           "${TokensTable}",
		"USERS_TABLE":            v.usersName,
		"HMAC_KEY_SECRET_ARN":    "${HmacKeySecret}",
		"RESET_URL":              v.apiBase() + "/auth/reset-password/{token}",
		"API_URL":                v.apiBase(),
		"ALLOWED_ORIGINS":        v.param("AllowedOrigins"),
		"SES_CONFIGURATION_SET":  "${MailConfigurationSet}",
		"USERS_EMAIL_INDEX":      "email-index",
		"USERS_BACKEND":          backend,
		"WEBHOOK_URL":            v.param("WebhookUrl"),
		"WEBHOOK_SECRET":         secret,
		"COGNITO_USER_POOL_ID":   v.param("CognitoUserPoolId"),
		"CAPTCHA_PROVIDER":       v.param("CaptchaProvider"),
		"CAPTCHA_SITE_KEY":       v.param("CaptchaSiteKey"),
		"CAPTCHA_SECRET":         captchaSecret,
		"USERS_USERNAME_INDEX":   usernameIndex,
		"SESSIONS_TABLE":         v.sessionsTable(),
		"SESSIONS_ACCOUNT_INDEX": v.param("SessionsAccountIndexName"),
	}
}

// checkEnvironment: every variable the code reads reaches every function
// (the function's own Variables over Globals', as SAM merges them), but
// the sessions table's, which reach only the functions that complete
// resets; the
// ones naming resources name this template's, and a function gets no
// variable the code does not read (a typo, or a setting that does nothing).
func checkEnvironment(s *stack) []string {
	var problems []string
	wired := wiredEnvironment(s.v)
	read := map[string]bool{}
	for _, name := range environment() {
		read[name] = true
	}
	for _, dir := range sortedKeys(s.functions()) {
		env := s.env(dir)
		for _, name := range environment() {
			v, ok := env[name]
			if sendsOnly[name] && !sends(dir) {
				if ok {
					problems = append(problems, fmt.Sprintf("function %s: sets %s, but it sends nothing, so verifies no token", logicalID(dir), name))
				}
				continue
			}
			if sessionsVariables[name] && !completesResets(dir) {
				// A function that never completes a reset ends no
				// sessions: it is not told of the table.
				if ok {
					problems = append(problems, fmt.Sprintf("function %s: sets %s, but it completes no reset, so ends no sessions", logicalID(dir), name))
				}
				continue
			}
			switch want, isWired := wired[name]; {
			case !ok:
				problems = append(problems, fmt.Sprintf("function %s: environment lacks %s", logicalID(dir), name))
			case isWired && v != want:
				problems = append(problems, fmt.Sprintf("function %s: %s is %q, want %q", logicalID(dir), name, v, want))
			}
		}
		for _, name := range sortedKeys(env) {
			if !read[name] {
				problems = append(problems, fmt.Sprintf("function %s: sets %s, which pkg/config does not read for a deployed function (config.Variables)", logicalID(dir), name))
			}
		}
	}
	return problems
}

// env is the environment of the function serving functions/dir: its own
// Variables over Globals', as SAM merges them. With no such function, it
// is the Globals alone.
func (s *stack) env(dir string) map[string]string {
	env := map[string]string{}
	if g, _ := s.tpl.GetServerlessGlobalFunction(); g != nil && g.Environment != nil {
		for k, v := range g.Environment.Variables {
			env[k] = v
		}
	}
	if fn := s.functions()[dir]; fn != nil && fn.Environment != nil {
		for k, v := range fn.Environment.Variables {
			env[k] = v
		}
	}
	return env
}

// checkOutputs: the stack tells its caller where the API is (the custom
// domain when it has one, as API_URL), where its execute-api URL is, and
// what a DNS record for the custom domain must point at.
func checkOutputs(s *stack) []string {
	var problems []string
	for name, want := range map[string]string{"ApiUrl": s.v.apiBase(), "ExecuteApiUrl": executeAPIURL} {
		out, ok := s.tpl.Outputs[name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("output %s is missing", name))
		case out.Value != want:
			problems = append(problems, fmt.Sprintf("output %s is %v, want %s", name, out.Value, want))
		}
	}
	if out, ok := s.tpl.Outputs["CustomDomainTarget"]; !ok || out.Condition == nil || *out.Condition != "HasCustomDomain" || out.Value != "${ApiDomainName.RegionalDomainName}" {
		problems = append(problems, "output CustomDomainTarget: want ApiDomainName's RegionalDomainName under Condition HasCustomDomain")
	}
	return problems
}

// list reads a JSON value that IAM and SAM accept as one item or a list.
// An item that is null, an !If that chose AWS::NoValue, is not there.
func list(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		out := make([]any, 0, len(v))
		for _, x := range v {
			if x != nil {
				out = append(out, x)
			}
		}
		return out
	default:
		return []any{v}
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
