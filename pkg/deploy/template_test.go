package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// stack is template.yaml as one deployment would see it: intrinsic functions
// resolved against the parameters of a variant, and the references that only
// CloudFormation can resolve left as symbols (see symbolic).
type stack struct {
	tpl *cloudformation.Template
	// raw is the same processed template as plain JSON values, for the parts
	// goformation's types lose: a Policies list holding a managed-policy name
	// or a SAM policy template decodes into empty statement documents there.
	raw map[string]any
	v   variant
}

// A variant is one way to deploy the template: the parameters it sets and
// the ARN the users table then has, as symbolic spells it. Every test of
// the template runs on each, AWS's SAM translator and cfn-lint included
// (translate_test.go).
type variant struct {
	name       string
	params     map[string]any
	usersTable string // ARN of the users table
	usersName  string // USERS_TABLE
}

// deployParams are the parameters a deployment of v passes: v's, and the
// two that have no default, as a team gives them.
func (v variant) deployParams() map[string]string {
	p := map[string]string{"MailFrom": "no-reply@example.com", "SesIdentity": "example.com"}
	for k, val := range v.params {
		p[k] = fmt.Sprint(val)
	}
	return p
}

// param is the value v gives the parameter name, "" when it leaves the
// default.
func (v variant) param(name string) string {
	if val, ok := v.params[name]; ok {
		return fmt.Sprint(val)
	}
	return ""
}

// createsUsersTable: v deploys the template's own users table.
func (v variant) createsUsersTable() bool {
	return v.param("ExistingUsersTableName") == "" && !v.webhook() && !v.cognito()
}

// cognito: v keeps its accounts in a Cognito user pool, with no users table.
func (v variant) cognito() bool { return v.param("UsersBackend") == "cognito" }

// webhook: v keeps its accounts behind a team's hook, with no users table.
func (v variant) webhook() bool { return v.param("UsersBackend") == "webhook" }

// hasUsernameIndex: v's users table has an index on the user name.
func (v variant) hasUsernameIndex() bool {
	val, set := v.params["UsersUsernameIndexName"]
	return !set || val != ""
}

// sessionsTable is the app's sessions table v names, "" for none.
func (v variant) sessionsTable() string { return v.param("SessionsTableName") }

// domain is v's custom domain, "" for none.
func (v variant) domain() string { return v.param("DomainName") }

// origins are the browser origins v allows, none when CORS is off.
func (v variant) origins() []string {
	if v.param("AllowedOrigins") == "" {
		return nil
	}
	return strings.Split(v.param("AllowedOrigins"), ",")
}

// apiBase is the API's public base URL in v (API_URL), as symbolic spells it.
func (v variant) apiBase() string {
	if d := v.domain(); d != "" {
		return "https://" + d
	}
	return executeAPIURL
}

var variants = []variant{
	{
		name:       "new users table",
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		// A team's table names its attributes its own way.
		name: "existing users table",
		params: map[string]any{
			"ExistingUsersTableName":          "accounts",
			"UsersKeyAttribute":               "id",
			"UsersEmailAttribute":             "mail",
			"UsersPasswordAttribute":          "pw_hash",
			"UsersSessionVersionAttribute":    "sv",
			"UsersPasswordChangedAtAttribute": "pw_changed",
		},
		usersTable: "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/accounts",
		usersName:  "accounts",
	},
	{
		name:       "new users table, no verified or enabled attribute",
		params:     map[string]any{"UsersVerifiedAttribute": "", "UsersEnabledAttribute": ""},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		// Accounts without user names: family E by name finds no account,
		// and nothing may query an index that does not exist.
		name:       "existing users table without user names",
		params:     map[string]any{"ExistingUsersTableName": "members", "UsersUsernameIndexName": ""},
		usersTable: "arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/members",
		usersName:  "members",
	},
	{
		name: "custom domain",
		params: map[string]any{
			"DomainName":     "reset.example.com",
			"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b",
		},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		name:       "CORS on",
		params:     map[string]any{"AllowedOrigins": "https://app.example.com,http://localhost:5173"},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		// The app's sessions table, keyed by a partition and a sort key:
		// a reset deletes the account's sessions.
		name: "sessions table",
		params: map[string]any{
			"SessionsTableName":        "app-sessions",
			"SessionsAccountIndexName": "by-account",
			"SessionsAccountAttribute": "uid",
			"SessionsKeyAttribute":     "sid",
			"SessionsSortKeyAttribute": "device",
		},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		// The accounts behind a team's signed hook: no users table, no
		// grant on one, the hook's secret from the team's Secrets Manager
		// secret as a dynamic reference.
		name: "webhook back-end",
		params: map[string]any{
			"UsersBackend":     "webhook",
			"WebhookUrl":       "https://accounts.example.com/passreset",
			"WebhookSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:passreset-hook-AbCdEf",
		},
	},
	{
		// The accounts in a Cognito user pool: no users table, no grant
		// on one, the pool's calls granted on that pool alone.
		name: "cognito back-end",
		params: map[string]any{
			"UsersBackend":      "cognito",
			"CognitoUserPoolId": "eu-west-1_AbC123",
		},
	},
	{
		// The bot defence on: the provider and site key reach every
		// function (password-reset shows the page), the secret only the
		// ones that send, as a dynamic reference.
		name: "bot defence",
		params: map[string]any{
			"CaptchaProvider":  "turnstile",
			"CaptchaSiteKey":   "0x4AAAAAAAexample-site-key",
			"CaptchaSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:passreset-turnstile-AbCdEf",
		},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		// The alarms mail an address, through a topic the stack creates.
		name:       "alarms to an email",
		params:     map[string]any{"AlarmEmail": "oncall@example.com"},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
	{
		// The alarms notify a team's topic as well.
		name: "alarms to a topic and an email",
		params: map[string]any{
			"AlarmEmail":    "oncall@example.com",
			"AlarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:pager",
		},
		usersTable: "${UsersTable.Arn}",
		usersName:  "${UsersTable}",
	},
}

// repoRoot is the module root: this package lives in pkg/deploy.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found from %s: %v", root, err)
	}
	return root
}

func readTemplate(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// load parses a template the way goformation.ParseYAMLWithOptions does
// (process the intrinsics, then decode into cloudformation.Template), keeping
// the processed JSON for raw as well.
func load(data []byte, v variant) (*stack, error) {
	processed, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: symbolic,
		ParameterOverrides:        v.params,
	})
	if err != nil {
		return nil, fmt.Errorf("process intrinsics: %w", err)
	}
	s := &stack{tpl: &cloudformation.Template{}, v: v}
	if err := json.Unmarshal(processed, &s.raw); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	typed, err := json.Marshal(withoutUntypedProperties(s.raw))
	if err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	if err := json.Unmarshal(typed, s.tpl); err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	return s, nil
}

// untypedProperties are the properties goformation's types refuse though
// SAM and CloudFormation take them: goformation v7 spells
// AWS::Serverless::HttpApi's AccessLogSettings "AccessLogSetting", and its
// SES event destination has no EventBridgeDestination. The typed template
// goes without them; raw keeps them for the checks (checkAccessLog,
// checkMailEvents).
var untypedProperties = map[string][]string{
	"AWS::Serverless::HttpApi":                   {"AccessLogSettings"},
	"AWS::SES::ConfigurationSetEventDestination": {"EventDestination"},
}

// withoutUntypedProperties is the template raw less untypedProperties,
// raw itself unchanged.
func withoutUntypedProperties(raw map[string]any) map[string]any {
	out := maps.Clone(raw)
	resources, _ := raw["Resources"].(map[string]any)
	out["Resources"] = maps.Clone(resources)
	for id, r := range resources {
		res, _ := r.(map[string]any)
		typ, _ := res["Type"].(string)
		drop := untypedProperties[typ]
		props, _ := res["Properties"].(map[string]any)
		if len(drop) == 0 || props == nil {
			continue
		}
		res = maps.Clone(res)
		props = maps.Clone(props)
		for _, name := range drop {
			delete(props, name)
		}
		res["Properties"] = props
		out["Resources"].(map[string]any)[id] = res
	}
	return out
}

// symbolic replaces goformation's default handlers for the intrinsics whose
// value only CloudFormation knows. The defaults turn !GetAtt into null and
// strip unknown ${...} from !Sub, so the tokens table's ARN and the users
// table's would both read "arn:aws:dynamodb:us-east-1:123456789012:table/"
// and a policy could not be told apart from another. Here a reference to a
// resource or a pseudo parameter stays a symbol spelled as in !Sub
// ("${TokensTable.Arn}", "${AWS::Region}"), a parameter becomes its default
// (or the variant's value), and !If is decided from the template's
// conditions, so each variant sees the branch CloudFormation would take.
var symbolic = map[string]intrinsics.IntrinsicHandler{
	"Ref":        refSymbol,
	"Fn::GetAtt": getAttSymbol,
	"Fn::Sub":    subSymbol,
	"Fn::If":     ifSymbol,
}

func refSymbol(_ string, input any, template any) any {
	name, ok := input.(string)
	if !ok {
		return nil
	}
	if name == "AWS::NoValue" {
		return nil
	}
	if v, ok := parameterValue(template, name); ok {
		return v
	}
	return "${" + name + "}"
}

func getAttSymbol(_ string, input any, _ any) any {
	switch in := input.(type) {
	case string:
		return "${" + in + "}"
	case []any:
		parts := make([]string, len(in))
		for i, p := range in {
			parts[i] = fmt.Sprint(p)
		}
		return "${" + strings.Join(parts, ".") + "}"
	}
	return nil
}

var subVariable = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func subSymbol(_ string, input any, template any) any {
	var (
		text string
		vars map[string]any
	)
	switch in := input.(type) {
	case string:
		text = in
	case []any:
		if len(in) != 2 {
			return nil
		}
		text, _ = in[0].(string)
		vars, _ = in[1].(map[string]any)
	default:
		return nil
	}
	return subVariable.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := vars[name]; ok && v != nil {
			return fmt.Sprint(v)
		}
		if v, ok := parameterValue(template, name); ok {
			return fmt.Sprint(v)
		}
		return m
	})
}

func ifSymbol(_ string, input any, template any) any {
	in, ok := input.([]any)
	if !ok || len(in) != 3 {
		return nil
	}
	name, _ := in[0].(string)
	holds, ok := conditionHolds(template, name)
	if !ok {
		return nil
	}
	if holds {
		return in[1]
	}
	return in[2]
}

// parameterValue is a parameter's default, which ProcessorOptions'
// ParameterOverrides has already replaced by the variant's value.
func parameterValue(template any, name string) (any, bool) {
	tpl, _ := template.(map[string]any)
	params, _ := tpl["Parameters"].(map[string]any)
	param, ok := params[name].(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok := param["Default"]
	return v, ok
}

// conditionHolds evaluates a named condition with goformation's own
// Fn::Equals, Fn::Not, Fn::And and Fn::Or, over the template's parameters.
func conditionHolds(template any, name string) (bool, bool) {
	tpl, _ := template.(map[string]any)
	conds, _ := tpl["Conditions"].(map[string]any)
	expr, ok := conds[name]
	if !ok {
		return false, false
	}
	doc, err := json.Marshal(map[string]any{"Parameters": tpl["Parameters"], "Value": expr})
	if err != nil {
		return false, false
	}
	out, err := intrinsics.ProcessJSON(doc, nil)
	if err != nil {
		return false, false
	}
	var res struct{ Value *bool }
	if err := json.Unmarshal(out, &res); err != nil || res.Value == nil {
		return false, false
	}
	return *res.Value, true
}

// parsed holds the real template's variants, parsed once per test binary:
// every check reads them and none writes, and parsing them again for each
// of some thirty checks was most of this package's time under -race.
var parsed struct {
	once   sync.Once
	stacks []*stack
	err    error
}

// loadVariants returns the real template parsed once per variant.
func loadVariants(t *testing.T) []*stack {
	t.Helper()
	parsed.once.Do(func() {
		data := readTemplate(t)
		for _, v := range variants {
			s, err := load(data, v)
			if err != nil {
				parsed.err = fmt.Errorf("template.yaml (%s): %w", v.name, err)
				return
			}
			parsed.stacks = append(parsed.stacks, s)
		}
	})
	if parsed.err != nil {
		t.Fatal(parsed.err)
	}
	return parsed.stacks
}

// runCheck reports every problem a check finds in every variant.
func runCheck(t *testing.T, check func(*stack) []string) {
	t.Helper()
	for _, s := range loadVariants(t) {
		for _, p := range check(s) {
			t.Errorf("%s: %s", s.v.name, p)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resource is the processed JSON of the resource id, and whether the
// template has it.
func (s *stack) resource(id string) (map[string]any, bool) {
	resources, _ := s.raw["Resources"].(map[string]any)
	r, ok := resources[id].(map[string]any)
	return r, ok
}

// properties is the processed JSON of the Properties of the resource id.
func (s *stack) properties(id string) map[string]any {
	r, _ := s.resource(id)
	props, _ := r["Properties"].(map[string]any)
	return props
}
