package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/passreset/passreset/pkg/gateway"
)

// The tests in this file run what a deployment runs: AWS's SAM translator
// (the AWS::Serverless-2016-10-31 transform, through
// testdata/samtranslate.py) turns template.yaml into the CloudFormation
// template of each variant, and cfn-lint checks that template with the
// variant's parameter values. The checks of checks_test.go read
// template.yaml itself; these read what SAM makes of it, so a property SAM
// drops, renames or rejects shows here.
//
// They need python3 with aws-sam-translator, and cfn-lint (pip install
// aws-sam-translator cfn-lint). Without them a test skips, saying what is
// missing; under CI=true it fails instead.

// requireTool fails the test under CI=true, and skips it otherwise, when
// a tool it needs is missing.
func requireTool(t *testing.T, problem string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s; CI=true, so this fails instead of skipping", problem)
	}
	t.Skipf("%s; skipped (under CI=true this fails)", problem)
}

// translation is one variant's CloudFormation as SAM makes it.
type translation struct {
	v       variant
	version string // samtranslator's
	doc     []byte // SAM's output, as CloudFormation receives it
	raw     map[string]any
}

// translateVariants runs the SAM translator on template.yaml once for
// every variant, with the parameter values the variant deploys with.
func translateVariants(t *testing.T) []*translation {
	t.Helper()
	if testing.Short() {
		t.Skip("runs AWS's SAM translator and cfn-lint; skipped with -short")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		requireTool(t, "python3 is not on PATH (the SAM translator runs on it)")
	}
	sets := map[string]map[string]string{}
	for _, v := range variants {
		sets[v.name] = v.deployParams()
	}
	arg, err := json.Marshal(sets)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(python, filepath.Join("testdata", "samtranslate.py"), filepath.Join(repoRoot(t), "template.yaml"), string(arg))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 3 {
			requireTool(t, "python3 has no samtranslator: "+strings.TrimSpace(stderr.String()))
		}
		t.Fatalf("testdata/samtranslate.py: %v\n%s", err, stderr.String())
	}
	var out struct {
		Samtranslator string
		Results       map[string]struct {
			Template json.RawMessage
			Errors   []string
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("testdata/samtranslate.py printed no JSON: %v\n%s", err, stderr.String())
	}
	var translations []*translation
	for _, v := range variants {
		res := out.Results[v.name]
		if len(res.Errors) > 0 || res.Template == nil {
			t.Fatalf("%s: SAM refuses template.yaml: %s", v.name, strings.Join(res.Errors, "; "))
		}
		tr := &translation{v: v, version: out.Samtranslator, doc: res.Template}
		if err := tr.process(); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		translations = append(translations, tr)
	}
	return translations
}

// process resolves the translation's intrinsics as symbolic does for
// template.yaml, with the variant's values, and drops each resource and
// output whose condition is false: tr.raw is then what the stack holds.
func (tr *translation) process() error {
	params := map[string]any{}
	for k, v := range tr.v.deployParams() {
		params[k] = v
	}
	processed, err := intrinsics.ProcessJSON(tr.doc, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: symbolic,
		ParameterOverrides:        params,
	})
	if err != nil {
		return fmt.Errorf("process intrinsics of SAM's output: %w", err)
	}
	if err := json.Unmarshal(processed, &tr.raw); err != nil {
		return fmt.Errorf("decode SAM's output: %w", err)
	}
	conds, _ := tr.raw["Conditions"].(map[string]any)
	for _, section := range []string{"Resources", "Outputs"} {
		items, _ := tr.raw[section].(map[string]any)
		for id, item := range items {
			m, _ := item.(map[string]any)
			name, ok := m["Condition"].(string)
			if !ok {
				continue
			}
			holds, ok := conds[name].(bool)
			if !ok {
				return fmt.Errorf("%s %s: condition %s did not resolve", section, id, name)
			}
			if !holds {
				delete(items, id)
			}
		}
	}
	return nil
}

// ofType is the logical IDs of the resources of type typ, sorted.
func (tr *translation) ofType(typ string) []string {
	resources, _ := tr.raw["Resources"].(map[string]any)
	var ids []string
	for id, r := range resources {
		if m, _ := r.(map[string]any); m["Type"] == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func (tr *translation) resource(id string) map[string]any {
	resources, _ := tr.raw["Resources"].(map[string]any)
	r, _ := resources[id].(map[string]any)
	return r
}

func (tr *translation) properties(id string) map[string]any {
	props, _ := tr.resource(id)["Properties"].(map[string]any)
	return props
}

// TestSAMTranslation translates template.yaml with AWS's SAM translator
// for every variant (a created users table, an existing one with and
// without user names, a custom domain, CORS off and on) and checks the
// CloudFormation it makes: the functions and their routes, the invoke
// permissions, the CORS configuration, each role's grants against the
// permissions table, the environment, the access log, what survives the
// stack, and the custom domain. Then it runs cfn-lint on that
// CloudFormation with the variant's parameter values (cfn-lint ignores
// --parameters on a SAM template: it lints its own translation with the
// defaults). A cfn-lint error or warning fails. Each variant's summary and
// cfn-lint's result go to the test log.
func TestSAMTranslation(t *testing.T) {
	translations := translateVariants(t)
	lint, lintVersion := cfnLint(t)
	for _, tr := range translations {
		t.Run(tr.v.name, func(t *testing.T) {
			t.Parallel()
			for _, p := range checkTranslation(tr) {
				t.Error(p)
			}
			t.Logf("samtranslator %s: %s", tr.version, tr.summary())

			file := filepath.Join(t.TempDir(), "translated.json")
			if err := os.WriteFile(file, tr.doc, 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"--format", "parseable"}
			if params := tr.v.deployParams(); len(params) > 0 {
				args = append(args, "--parameters")
				for _, k := range sortedKeys(params) {
					args = append(args, k+"="+params[k])
				}
			}
			result, failed := runCfnLint(t, lint, append(args, "--", file)...)
			t.Logf("%s, on the translation with %s: %s", lintVersion, formatParams(tr.v.deployParams()), result)
			if failed {
				t.Errorf("cfn-lint: %s", result)
			}
		})
	}
}

// TestCfnLintTemplate runs cfn-lint on template.yaml as written: cfn-lint
// translates it itself and checks every branch of its conditions.
func TestCfnLintTemplate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cfn-lint; skipped with -short")
	}
	lint, version := cfnLint(t)
	result, failed := runCfnLint(t, lint, "--format", "parseable", "--", filepath.Join(repoRoot(t), "template.yaml"))
	t.Logf("%s, on template.yaml: %s", version, result)
	if failed {
		t.Errorf("cfn-lint template.yaml: %s", result)
	}
}

// cfnLint is the cfn-lint command and its version.
func cfnLint(t *testing.T) (string, string) {
	t.Helper()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		requireTool(t, "cfn-lint is not on PATH (pip install cfn-lint)")
	}
	out, err := exec.Command(lint, "--version").CombinedOutput()
	if err != nil {
		requireTool(t, fmt.Sprintf("cfn-lint --version: %v: %s", err, out))
	}
	return lint, strings.TrimSpace(string(out))
}

// lintLine is one problem in cfn-lint's parseable format:
// file:line:column:endline:endcolumn:rule:message.
var lintLine = regexp.MustCompile(`^(.*):(\d+):(\d+):\d+:\d+:([EWI]\d+):(.*)$`)

// runCfnLint runs cfn-lint with args and says what it found, and whether
// that fails the test: an error or a warning, or cfn-lint failing to run.
// Informational findings are reported only.
func runCfnLint(t *testing.T, lint string, args ...string) (string, bool) {
	t.Helper()
	out, err := exec.Command(lint, args...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return "no errors, no warnings", false
	case !errors.As(err, &exit):
		return fmt.Sprintf("did not run: %v", err), true
	case exit.ExitCode()&^(2|4|8) != 0:
		// 2, 4 and 8 say errors, warnings and informational findings;
		// anything else is cfn-lint failing.
		return fmt.Sprintf("exit %d: %s", exit.ExitCode(), out), true
	}
	var findings []string
	failed := false
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := lintLine.FindStringSubmatch(line)
		if m == nil {
			findings = append(findings, line)
			failed = true
			continue
		}
		findings = append(findings, fmt.Sprintf("%s line %s: %s %s", filepath.Base(m[1]), m[2], m[4], m[5]))
		if m[4][0] != 'I' {
			failed = true
		}
	}
	return strings.Join(findings, "; "), failed
}

func formatParams(p map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(p) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, " ")
}

// checkTranslation reports every way SAM's CloudFormation for tr's
// variant differs from what the code and the operators need.
func checkTranslation(tr *translation) []string {
	var problems []string
	for _, check := range []func(*translation) []string{
		checkTranslatedFunctions, checkTranslatedRoutes, checkTranslatedPolicies,
		checkTranslatedEnvironment, checkTranslatedStage, checkTranslatedState,
		checkTranslatedDomain, checkTranslatedOperations,
	} {
		problems = append(problems, check(tr)...)
	}
	return problems
}

// checkTranslatedFunctions: one Lambda function per directory, each a
// custom-runtime arm64 bootstrap under its fixed name and its own role.
func checkTranslatedFunctions(tr *translation) []string {
	var problems []string
	var want []string
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		want = append(want, logicalID(dir))
	}
	if got := tr.ofType("AWS::Lambda::Function"); !slices.Equal(got, want) {
		problems = append(problems, fmt.Sprintf("Lambda functions %q, want %q", got, want))
	}
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		id := logicalID(dir)
		p := tr.properties(id)
		for key, want := range map[string]any{
			"Runtime": wantRuntime, "Handler": wantHandler, "Architectures": []any{wantArch},
			"FunctionName": "${AWS::StackName}-" + dir, "Role": "${" + id + "Role.Arn}",
		} {
			if fmt.Sprint(p[key]) != fmt.Sprint(want) {
				problems = append(problems, fmt.Sprintf("function %s: %s %v, want %v", id, key, p[key], want))
			}
		}
	}
	return problems
}

// checkTranslatedRoutes: the API's routes, the functions they invoke, and
// the permission letting API Gateway invoke each are gateway.FunctionRoutes();
// the CORS configuration is the variant's.
func checkTranslatedRoutes(tr *translation) []string {
	var problems []string
	apis := tr.ofType("AWS::ApiGatewayV2::Api")
	if !slices.Equal(apis, []string{"HttpApi"}) {
		return []string{fmt.Sprintf("HTTP APIs %q, want [HttpApi]", apis)}
	}
	body, _ := tr.properties("HttpApi")["Body"].(map[string]any)
	want := map[string]string{}     // route key -> function dir
	wantPerm := map[string]string{} // "METHOD path" with * for parameters -> dir
	for dir, keys := range gateway.FunctionRoutes() {
		for _, k := range keys {
			want[k] = dir
			wantPerm[pathParameter.ReplaceAllString(k, "*")] = dir
		}
	}
	integrations := map[string]string{}
	paths, _ := body["paths"].(map[string]any)
	for _, path := range sortedKeys(paths) {
		methods, _ := paths[path].(map[string]any)
		for _, method := range sortedKeys(methods) {
			op, _ := methods[method].(map[string]any)
			in, _ := op["x-amazon-apigateway-integration"].(map[string]any)
			u, _ := in["uri"].(string)
			if m := integrationURI.FindStringSubmatch(u); m != nil {
				integrations[strings.ToUpper(method)+" "+path] = m[1]
			} else {
				problems = append(problems, fmt.Sprintf("HttpApi route %s %s: integration uri %q names no function", strings.ToUpper(method), path, u))
			}
		}
	}
	problems = append(problems, comparePairs("translated HttpApi", integrations, want)...)

	permitted := map[string]string{}
	for _, id := range tr.ofType("AWS::Lambda::Permission") {
		p := tr.properties(id)
		arn, _ := p["SourceArn"].(string)
		key, ok := strings.CutPrefix(arn, "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:${HttpApi}/*/")
		fn, _ := p["FunctionName"].(string)
		dir := functionDir(strings.TrimSuffix(strings.TrimPrefix(fn, "${"), "}"))
		if !ok || p["Principal"] != "apigateway.amazonaws.com" || p["Action"] != "lambda:InvokeFunction" {
			problems = append(problems, fmt.Sprintf("permission %s: %v is not API Gateway's invoke of one route of HttpApi", id, p))
			continue
		}
		method, path, _ := strings.Cut(key, "/")
		permitted[method+" /"+path] = dir
	}
	problems = append(problems, comparePairs("translated invoke permissions", permitted, wantPerm)...)
	return append(problems, corsProblems(body, tr.v.origins())...)
}

// pathParameter is a {parameter} of a route's path; an invoke permission's
// SourceArn has * in its place.
var pathParameter = regexp.MustCompile(`\{[^}]+\}`)

// checkTranslatedPolicies: each function's role grants exactly what the
// permissions table says its code calls, sends mail only from MAIL_FROM,
// and has no managed policy but the one that lets it write its logs.
func checkTranslatedPolicies(tr *translation) []string {
	var problems []string
	s := &stack{v: tr.v} // for arn
	const logs = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		id := logicalID(dir)
		role := tr.properties(id + "Role")
		if got := fmt.Sprint(role["ManagedPolicyArns"]); got != fmt.Sprint([]any{logs}) {
			problems = append(problems, fmt.Sprintf("role %sRole: managed policies %s, want [%s] only", id, got, logs))
		}
		want := map[string]bool{}
		perms, _ := permissionsOf(tr.v, dir)
		for r, actions := range perms {
			if s.arn(r) == "" {
				continue
			}
			for _, a := range actions {
				want[a+" on "+tr.withParams(s.arn(r))] = true
			}
		}
		got := map[string]bool{}
		for _, p := range list(role["Policies"]) {
			pm, _ := p.(map[string]any)
			doc, _ := pm["PolicyDocument"].(map[string]any)
			for _, st := range list(doc["Statement"]) {
				stmt := statement(asMap(st))
				if stmt["Effect"] != "Allow" {
					continue
				}
				for _, a := range list(stmt["Action"]) {
					for _, r := range list(stmt["Resource"]) {
						got[fmt.Sprintf("%v on %v", a, r)] = true
					}
				}
				if stmt.allows("ses:SendEmail") {
					if from, _ := stmt.condition("StringEquals", "ses:FromAddress"); !slices.Equal(from, []string{tr.v.deployParams()["MailFrom"]}) {
						problems = append(problems, fmt.Sprintf("role %sRole: statement %s sends mail from %q, want MailFrom only", id, stmt.name(), from))
					}
				}
			}
		}
		for _, g := range sortedKeys(got) {
			if !want[g] {
				problems = append(problems, fmt.Sprintf("role %sRole: grants %s, which its code does not call", id, g))
			}
		}
		for _, g := range sortedKeys(want) {
			if !got[g] {
				problems = append(problems, fmt.Sprintf("role %sRole: lacks %s, which its code calls", id, g))
			}
		}
	}
	return problems
}

// withParams is text with each ${Parameter} the variant deploys with
// replaced by its value, as the translation's !Subs are.
func (tr *translation) withParams(text string) string {
	for k, v := range tr.v.deployParams() {
		text = strings.ReplaceAll(text, "${"+k+"}", v)
	}
	return text
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// checkTranslatedEnvironment: every function gets every variable a
// deployed function reads and no other (the sessions table's only where
// it completes resets), the ones naming resources and URLs as the variant
// has them.
func checkTranslatedEnvironment(tr *translation) []string {
	var problems []string
	wired := wiredEnvironment(tr.v)
	wired["MAIL_FROM"] = tr.v.deployParams()["MailFrom"]
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		id := logicalID(dir)
		env, _ := asMap(tr.properties(id)["Environment"])["Variables"].(map[string]any)
		var got []string
		for name := range env {
			got = append(got, name)
		}
		slices.Sort(got)
		want := slices.DeleteFunc(environment(), func(name string) bool {
			return (sessionsVariables[name] && !completesResets(dir)) || (sendsOnly[name] && !sends(dir))
		})
		slices.Sort(want)
		if !slices.Equal(got, want) {
			problems = append(problems, fmt.Sprintf("function %s: environment %q, want %q", id, got, want))
		}
		for _, name := range sortedKeys(wired) {
			if !slices.Contains(want, name) {
				continue
			}
			if fmt.Sprint(env[name]) != wired[name] {
				problems = append(problems, fmt.Sprintf("function %s: %s is %v, want %q", id, name, env[name], wired[name]))
			}
		}
	}
	return problems
}

// checkTranslatedStage: the API's one stage throttles and writes the access
// log, without paths, to the log group that expires it.
func checkTranslatedStage(tr *translation) []string {
	stages := tr.ofType("AWS::ApiGatewayV2::Stage")
	if len(stages) != 1 {
		return []string{fmt.Sprintf("stages %q, want one", stages)}
	}
	var problems []string
	p := tr.properties(stages[0])
	if p["StageName"] != "$default" {
		problems = append(problems, fmt.Sprintf("stage %s: StageName %v, want $default", stages[0], p["StageName"]))
	}
	if r := asMap(p["DefaultRouteSettings"]); r["ThrottlingBurstLimit"] == nil || r["ThrottlingRateLimit"] == nil {
		problems = append(problems, fmt.Sprintf("stage %s: no throttling", stages[0]))
	}
	logs := asMap(p["AccessLogSettings"])
	if logs["DestinationArn"] != "${ApiAccessLogGroup.Arn}" {
		problems = append(problems, fmt.Sprintf("stage %s: access log goes to %v, want ApiAccessLogGroup", stages[0], logs["DestinationArn"]))
	}
	format, _ := logs["Format"].(string)
	problems = append(problems, accessLogFormatProblems(format)...)
	if asMap(tr.properties("ApiAccessLogGroup"))["RetentionInDays"] == nil {
		problems = append(problems, "ApiAccessLogGroup: no RetentionInDays")
	}
	return problems
}

// checkTranslatedState: what holds state survives the stack as decided
// (accounts and the HMAC key kept, the tokens table not), the users table
// exists only when the stack creates it, and mail has its configuration
// set.
func checkTranslatedState(tr *translation) []string {
	var problems []string
	for id, want := range map[string]string{"TokensTable": "Delete", "HmacKeySecret": "Retain", "UsersTable": "Retain"} {
		r := tr.resource(id)
		if r == nil {
			if id != "UsersTable" || tr.v.createsUsersTable() {
				problems = append(problems, fmt.Sprintf("%s is missing", id))
			}
			continue
		}
		if id == "UsersTable" && !tr.v.createsUsersTable() {
			problems = append(problems, "UsersTable is created beside the existing table "+tr.v.param("ExistingUsersTableName"))
		}
		if r["DeletionPolicy"] != want || r["UpdateReplacePolicy"] != want {
			problems = append(problems, fmt.Sprintf("%s: DeletionPolicy %v, UpdateReplacePolicy %v, want %s", id, r["DeletionPolicy"], r["UpdateReplacePolicy"], want))
		}
	}
	if tr.resource("UsersTable") != nil && tr.properties("UsersTable")["DeletionProtectionEnabled"] != true {
		problems = append(problems, "UsersTable: DeletionProtectionEnabled is not true")
	}
	if len(tr.ofType("AWS::SES::ConfigurationSet")) != 1 {
		problems = append(problems, "no SES configuration set")
	}
	return problems
}

// checkTranslatedDomain: the custom domain, its mapping and the output
// naming its DNS target exist exactly when the variant has a domain, and
// ApiUrl is the API's public base URL.
func checkTranslatedDomain(tr *translation) []string {
	var problems []string
	has := tr.v.domain() != ""
	for _, typ := range []string{"AWS::ApiGatewayV2::DomainName", "AWS::ApiGatewayV2::ApiMapping"} {
		if got := len(tr.ofType(typ)) == 1; got != has {
			problems = append(problems, fmt.Sprintf("%s: present %v, want %v", typ, got, has))
		}
	}
	if has {
		m := tr.properties("ApiMapping")
		if m["Stage"] != "${HttpApiApiGatewayDefaultStage}" || m["ApiId"] != "${HttpApi}" || m["DomainName"] != "${ApiDomainName}" {
			problems = append(problems, fmt.Sprintf("ApiMapping %v does not map ApiDomainName to HttpApi's default stage", m))
		}
	}
	outputs, _ := tr.raw["Outputs"].(map[string]any)
	if got := asMap(outputs["ApiUrl"])["Value"]; got != tr.v.apiBase() {
		problems = append(problems, fmt.Sprintf("output ApiUrl %v, want %s", got, tr.v.apiBase()))
	}
	if _, got := outputs["CustomDomainTarget"]; got != has {
		problems = append(problems, fmt.Sprintf("output CustomDomainTarget: present %v, want %v", got, has))
	}
	return problems
}

// summary is one line saying what the translation holds, for the log.
func (tr *translation) summary() string {
	resources, _ := tr.raw["Resources"].(map[string]any)
	count := map[string]int{}
	for _, r := range resources {
		typ, _ := asMap(r)["Type"].(string)
		count[strings.TrimPrefix(typ, "AWS::")]++
	}
	var types []string
	for _, typ := range sortedKeys(count) {
		types = append(types, fmt.Sprintf("%s %d", typ, count[typ]))
	}
	body := asMap(tr.properties("HttpApi")["Body"])
	routes := 0
	for _, methods := range asMap(body["paths"]) {
		routes += len(asMap(methods))
	}
	cors := "CORS off"
	if c := asMap(body["x-amazon-apigateway-cors"]); c != nil {
		cors = fmt.Sprintf("CORS for %v", c["allowOrigins"])
	}
	users := "users table: the existing " + tr.v.param("ExistingUsersTableName")
	if tr.resource("UsersTable") != nil {
		users = "users table: created (Retain, deletion protection)"
	}
	grants := 0
	for _, dir := range sortedKeys(gateway.FunctionRoutes()) {
		for _, p := range list(tr.properties(logicalID(dir) + "Role")["Policies"]) {
			for _, st := range list(asMap(asMap(p)["PolicyDocument"])["Statement"]) {
				grants += len(list(asMap(st)["Action"])) * len(list(asMap(st)["Resource"]))
			}
		}
	}
	env := asMap(asMap(tr.properties("OtpCreateFunction")["Environment"])["Variables"])
	return fmt.Sprintf("%d resources (%s); %d routes on %d functions, %d invoke permissions; %s; %s; %d grants in 4 roles; %d variables per function, RESET_URL %v, API_URL %v",
		len(resources), strings.Join(types, ", "), routes, len(tr.ofType("AWS::Lambda::Function")),
		len(tr.ofType("AWS::Lambda::Permission")), cors, users, grants, len(env), env["RESET_URL"], env["API_URL"])
}
