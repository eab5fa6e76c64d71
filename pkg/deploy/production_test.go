package deploy_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The checks in this file hold what a team running the stack expects of
// it beyond the functions: mail over TLS with reputation metrics, an
// access log that names no token or address, state that survives the
// stack, the optional custom domain and CORS, and parameters that refuse a
// typo before anything is created.

func TestMailConfigurationSet(t *testing.T) { runCheck(t, checkMailConfigurationSet) }
func TestAccessLog(t *testing.T)            { runCheck(t, checkAccessLog) }
func TestSecretRetained(t *testing.T)       { runCheck(t, checkSecretRetained) }
func TestCustomDomain(t *testing.T)         { runCheck(t, checkCustomDomain) }
func TestCORS(t *testing.T)                 { runCheck(t, checkCORS) }
func TestParameters(t *testing.T)           { runCheck(t, checkParameters) }

// checkMailConfigurationSet: every mail goes through a configuration set
// that requires TLS to the recipient's server and records reputation
// metrics. checkEnvironment sees it reach the functions, checkPolicies its
// ARN in their ses:SendEmail grants.
func checkMailConfigurationSet(s *stack) []string {
	r, ok := s.resource("MailConfigurationSet")
	if !ok || r["Type"] != "AWS::SES::ConfigurationSet" {
		return []string{"MailConfigurationSet (AWS::SES::ConfigurationSet) is missing"}
	}
	var problems []string
	props := s.properties("MailConfigurationSet")
	delivery, _ := props["DeliveryOptions"].(map[string]any)
	if delivery["TlsPolicy"] != "REQUIRE" {
		problems = append(problems, fmt.Sprintf("MailConfigurationSet: DeliveryOptions.TlsPolicy %v, want REQUIRE (a code or link never crosses the internet in clear)", delivery["TlsPolicy"]))
	}
	reputation, _ := props["ReputationOptions"].(map[string]any)
	if reputation["ReputationMetricsEnabled"] != true {
		problems = append(problems, fmt.Sprintf("MailConfigurationSet: ReputationOptions.ReputationMetricsEnabled %v, want true", reputation["ReputationMetricsEnabled"]))
	}
	return problems
}

// accessLogFields are the variables the access log may hold, each looked
// at for what it could carry. Paths, query strings and headers carry link
// tokens and email addresses (/auth/reset-password/{token},
// /{email}/reset-password), so the route's template stands in for the
// path. The source IP is there on purpose (see the template's comment).
var accessLogFields = []string{
	"$context.requestId", "$context.requestTime", "$context.routeKey", "$context.status",
	"$context.protocol", "$context.responseLength", "$context.responseLatency",
	"$context.integrationStatus", "$context.integrationLatency", "$context.error.message",
	"$context.identity.sourceIp",
}

// logVariable is any $variable of an API Gateway log format.
var logVariable = regexp.MustCompile(`\$[A-Za-z][A-Za-z0-9_.]*[A-Za-z0-9_]`)

// carriesRequestText names the variables that would copy what a client
// wrote: the path in any spelling, the query, headers, the body.
var carriesRequestText = regexp.MustCompile(`(?i)path|query|header|uri|body|input|request\.|useragent`)

// checkAccessLog: the API's stage logs one JSON line per request, to a log
// group that expires its lines, naming the route's template and never the
// path or the query string.
func checkAccessLog(s *stack) []string {
	api := s.properties("HttpApi")
	settings, _ := api["AccessLogSettings"].(map[string]any)
	if settings == nil {
		return []string{"HttpApi: no AccessLogSettings"}
	}
	var problems []string
	if got := settings["DestinationArn"]; got != "${ApiAccessLogGroup.Arn}" {
		problems = append(problems, fmt.Sprintf("HttpApi: access log goes to %v, want ApiAccessLogGroup", got))
	}
	if r, ok := s.resource("ApiAccessLogGroup"); !ok || r["Type"] != "AWS::Logs::LogGroup" {
		problems = append(problems, "ApiAccessLogGroup (AWS::Logs::LogGroup) is missing")
	} else if s.properties("ApiAccessLogGroup")["RetentionInDays"] == nil {
		problems = append(problems, "ApiAccessLogGroup: no RetentionInDays; the source IPs it holds would be kept forever")
	}
	format, _ := settings["Format"].(string)
	problems = append(problems, accessLogFormatProblems(format)...)
	return problems
}

// accessLogFormatProblems reports what is wrong with an access log format:
// a variable that copies the path, query, headers or body, one nobody has
// looked at for what it carries, no route, or a line that is not JSON.
func accessLogFormatProblems(format string) []string {
	var problems []string
	if !json.Valid([]byte(format)) {
		problems = append(problems, fmt.Sprintf("HttpApi: access log format %q is not one JSON object", format))
	}
	for _, v := range logVariable.FindAllString(format, -1) {
		switch {
		case carriesRequestText.MatchString(v):
			problems = append(problems, fmt.Sprintf("HttpApi: access log format logs %s, which carries tokens and email addresses; log $context.routeKey instead", v))
		case !slices.Contains(accessLogFields, v):
			problems = append(problems, fmt.Sprintf("HttpApi: access log format logs %s, which is not in accessLogFields; look at what it carries and add it there", v))
		}
	}
	if !strings.Contains(format, "$context.routeKey") {
		problems = append(problems, "HttpApi: access log format does not log $context.routeKey, the route")
	}
	return problems
}

// TestAccessLogFormatRefusesPaths: the format check refuses each way of
// logging what a client wrote into a URL or a header.
func TestAccessLogFormatRefusesPaths(t *testing.T) {
	for _, v := range []string{
		"$context.path", "$context.http.path", "$context.resourcePath", "$context.requestOverride.querystring.x",
		"$context.identity.userAgent", "$input.body", "$request.header.origin", "$request.querystring.email",
		"$context.customDomain.basePathMatched",
	} {
		format := `{"route":"$context.routeKey","x":"` + v + `"}`
		problems := accessLogFormatProblems(format)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "carries tokens") }) {
			t.Errorf("format with %s: got %q, want it refused as carrying tokens", v, problems)
		}
	}
	if p := accessLogFormatProblems(`{"route":"$context.routeKey","ip":"$context.identity.sourceIp"}`); len(p) != 0 {
		t.Errorf("a format of reviewed fields: got %q, want none", p)
	}
}

// checkSecretRetained: the HMAC key secret survives a delete and a
// replacement of the stack: it is the one resource nobody can make again
// (see the template's comment on HmacKeySecret).
func checkSecretRetained(s *stack) []string {
	r, ok := s.resource("HmacKeySecret")
	if !ok {
		return []string{"HmacKeySecret is missing"}
	}
	if r["DeletionPolicy"] != "Retain" || r["UpdateReplacePolicy"] != "Retain" {
		return []string{fmt.Sprintf("HmacKeySecret: DeletionPolicy %v and UpdateReplacePolicy %v, want Retain", r["DeletionPolicy"], r["UpdateReplacePolicy"])}
	}
	return nil
}

// condition is the value the variant gives a condition of the template.
func (s *stack) condition(name string) (bool, bool) {
	conds, _ := s.raw["Conditions"].(map[string]any)
	b, ok := conds[name].(bool)
	return b, ok
}

// checkCustomDomain: DomainName and CertificateArn make a regional custom
// domain mapped to the API's stage, and nothing when they are empty.
// checkEnvironment sees RESET_URL and API_URL use it, checkOutputs ApiUrl.
func checkCustomDomain(s *stack) []string {
	var problems []string
	if on, ok := s.condition("HasCustomDomain"); !ok || on != (s.v.domain() != "") {
		problems = append(problems, fmt.Sprintf("condition HasCustomDomain is %v, want %v", on, s.v.domain() != ""))
	}
	for _, id := range []string{"ApiDomainName", "ApiMapping"} {
		if r, _ := s.resource(id); r["Condition"] != "HasCustomDomain" {
			problems = append(problems, fmt.Sprintf("%s: Condition %v, want HasCustomDomain", id, r["Condition"]))
		}
	}
	domain := s.properties("ApiDomainName")
	if got := domain["DomainName"]; got != s.v.param("DomainName") {
		problems = append(problems, fmt.Sprintf("ApiDomainName: DomainName %v, want %q", got, s.v.param("DomainName")))
	}
	configs := list(domain["DomainNameConfigurations"])
	if len(configs) != 1 {
		return append(problems, fmt.Sprintf("ApiDomainName: DomainNameConfigurations %v, want one", configs))
	}
	c, _ := configs[0].(map[string]any)
	for key, want := range map[string]string{"CertificateArn": s.v.param("CertificateArn"), "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"} {
		if c[key] != want {
			problems = append(problems, fmt.Sprintf("ApiDomainName: %s %v, want %q", key, c[key], want))
		}
	}
	mapping := s.properties("ApiMapping")
	for key, want := range map[string]string{"DomainName": "${ApiDomainName}", "ApiId": "${HttpApi}", "Stage": "${HttpApi.Stage}"} {
		if mapping[key] != want {
			problems = append(problems, fmt.Sprintf("ApiMapping: %s %v, want %s", key, mapping[key], want))
		}
	}
	return problems
}

// wantCORS is API Gateway's CORS configuration for origins
// (x-amazon-apigateway-cors, as the contract's "browsers on other
// origins" row has it), nil for none.
func wantCORS(origins []string) map[string]any {
	if len(origins) == 0 {
		return nil
	}
	var o []any
	for _, x := range origins {
		o = append(o, x)
	}
	return map[string]any{
		"allowOrigins":  o,
		"allowMethods":  []any{"GET", "POST", "PUT"},
		"allowHeaders":  []any{"Content-Type"},
		"exposeHeaders": []any{"Retry-After"},
		"maxAge":        float64(600),
	}
}

// corsProblems compares an API definition's CORS configuration with the
// one for origins.
func corsProblems(body map[string]any, origins []string) []string {
	got, _ := body["x-amazon-apigateway-cors"].(map[string]any)
	want := wantCORS(origins)
	switch {
	case want == nil && got != nil:
		return []string{fmt.Sprintf("HttpApi: CORS is on (%v) with AllowedOrigins empty; want none, no preflight answered", got)}
	case want != nil && got == nil:
		return []string{fmt.Sprintf("HttpApi: no CORS configuration, want one allowing %q", origins)}
	case want != nil && fmt.Sprint(got) != fmt.Sprint(want):
		return []string{fmt.Sprintf("HttpApi: CORS configuration %v, want %v", got, want)}
	}
	return nil
}

// checkCORS: AllowedOrigins turns API Gateway's CORS configuration on, for
// exactly those origins, and leaves it out when empty. SAM's own
// CorsConfiguration property cannot be left out by a condition, so it must
// not be used.
func checkCORS(s *stack) []string {
	api := s.properties("HttpApi")
	if api["CorsConfiguration"] != nil {
		return []string{"HttpApi: CorsConfiguration is set; SAM cannot leave it out when AllowedOrigins is empty, use the definition's x-amazon-apigateway-cors"}
	}
	body, _ := api["DefinitionBody"].(map[string]any)
	return corsProblems(body, s.v.origins())
}

// durationPattern is the AllowedPattern of every duration parameter.
const durationPattern = `^(0|(([0-9]+(\.[0-9]*)?|\.[0-9]+)(ns|us|ms|s|m|h))+)$`

// parameter is one entry of the template's Parameters.
type parameter map[string]any

func (s *stack) parameters() map[string]parameter {
	params, _ := s.raw["Parameters"].(map[string]any)
	out := map[string]parameter{}
	for name, p := range params {
		out[name], _ = p.(map[string]any)
	}
	return out
}

// isDuration: the parameter is a Go duration, as its default shows.
func (p parameter) isDuration() bool {
	d, _ := p["Default"].(string)
	_, err := time.ParseDuration(d)
	return p["Type"] == "String" && d != "" && err == nil
}

// refuses says why CloudFormation would refuse value for p, "" when it
// takes it: what a deploy checks before it creates anything.
func (p parameter) refuses(value string) string {
	if pattern, ok := p["AllowedPattern"].(string); ok {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return fmt.Sprintf("AllowedPattern %q does not compile: %v", pattern, err)
		}
		if !re.MatchString(value) {
			return fmt.Sprintf("%q does not match AllowedPattern %s", value, pattern)
		}
	}
	if allowed := list(p["AllowedValues"]); allowed != nil && !slices.ContainsFunc(allowed, func(a any) bool { return fmt.Sprint(a) == value }) {
		return fmt.Sprintf("%q is not one of AllowedValues %v", value, allowed)
	}
	if n, ok := p["MinLength"].(float64); ok && float64(len(value)) < n {
		return fmt.Sprintf("%q is shorter than MinLength %v", value, n)
	}
	if p["Type"] == "Number" {
		n, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return fmt.Sprintf("%q is not a number", value)
		}
		if lo, ok := p["MinValue"].(float64); ok && n < lo {
			return fmt.Sprintf("%v is below MinValue %v", n, lo)
		}
		if hi, ok := p["MaxValue"].(float64); ok && n > hi {
			return fmt.Sprintf("%v is above MaxValue %v", n, hi)
		}
	}
	return ""
}

// checkParameters: every duration has the pattern of a Go duration and
// says what it wants; each value the variant deploys with (and each
// default) is one CloudFormation takes; and the template's Rules hold.
func checkParameters(s *stack) []string {
	var problems []string
	params := s.parameters()
	for _, name := range sortedKeys(params) {
		p := params[name]
		if p.isDuration() {
			if p["AllowedPattern"] != durationPattern || p["ConstraintDescription"] == nil {
				problems = append(problems, fmt.Sprintf("parameter %s: a duration without AllowedPattern %s and a ConstraintDescription", name, durationPattern))
			}
		}
		value, given := s.v.deployParams()[name]
		if !given {
			if _, hasDefault := p["Default"]; !hasDefault {
				problems = append(problems, fmt.Sprintf("parameter %s has no default and the variant gives no value", name))
				continue
			}
			value = fmt.Sprint(p["Default"])
		}
		if why := p.refuses(value); why != "" {
			problems = append(problems, fmt.Sprintf("parameter %s: CloudFormation would refuse it: %s", name, why))
		}
	}
	for _, name := range sortedKeys(s.v.deployParams()) {
		if _, ok := params[name]; !ok {
			problems = append(problems, fmt.Sprintf("the variant sets %s, which is not a parameter", name))
		}
	}
	return append(problems, ruleProblems(s)...)
}

// ruleProblems reports every rule of the template whose condition holds
// and an assertion fails, as CloudFormation would before creating anything.
func ruleProblems(s *stack) []string {
	var problems []string
	rules, _ := s.raw["Rules"].(map[string]any)
	for _, name := range sortedKeys(rules) {
		rule, _ := rules[name].(map[string]any)
		if on, ok := rule["RuleCondition"].(bool); ok && !on {
			continue
		}
		for _, a := range list(rule["Assertions"]) {
			assertion, _ := a.(map[string]any)
			if holds, _ := assertion["Assert"].(bool); !holds {
				problems = append(problems, fmt.Sprintf("rule %s: %v", name, assertion["AssertDescription"]))
			}
		}
	}
	return problems
}

// TestDurationPatternIsGoSyntax: what the duration parameters' pattern
// takes, Go's time.ParseDuration (which pkg/config reads them with) takes
// too, and it takes the usual ways of writing one. It refuses signs and
// the micro sign that Go would take; pkg/config refuses a negative anyway.
func TestDurationPatternIsGoSyntax(t *testing.T) {
	re := regexp.MustCompile(durationPattern)
	for _, v := range []string{"10m", "60s", "1h30m", "1.5h", ".5h", "1.h", "300ms", "0", "2h45m10s", "100us", "5ns", "24h", "0s"} {
		if !re.MatchString(v) {
			t.Errorf("%q: refused by the pattern, want taken", v)
		}
	}
	for _, v := range []string{
		"10m", "60s", "1h30m", "1.5h", ".5h", "1.h", "300ms", "0", "2h45m10s", "100us", "5ns", "24h", "0s",
		"10", "10 m", " 10m", "10m ", "m", "-5m", "+5m", "1d", "10M", "1H", "1h 30m", "", "ten minutes",
		"5min", "1e3s", "1,5h", "0x10s", "00", ".", ".s", "1..5h", "1hh",
	} {
		_, err := time.ParseDuration(v)
		if re.MatchString(v) && err != nil {
			t.Errorf("%q: taken by the pattern, but time.ParseDuration refuses it: %v", v, err)
		}
	}
}

// TestParametersRefuseTypos: a value a team could mistype is refused by
// the template's parameters, so the deploy stops before it creates
// anything, with the ConstraintDescription.
func TestParametersRefuseTypos(t *testing.T) {
	s, err := load(readTemplate(t), variants[0])
	if err != nil {
		t.Fatal(err)
	}
	params := s.parameters()
	for _, tt := range []struct{ name, value string }{
		{"OtpTtl", "10"},
		{"OtpTtl", "10 minutes"},
		{"LinkTtl", "1d"},
		{"MinSendInterval", "60S"},
		{"IpWindow", "-5m"},
		{"MailFrom", "Passreset <no-reply@example.com>"},
		{"MailFrom", "example.com"},
		{"SesIdentity", "example.com "},
		{"DomainName", "https://reset.example.com"},
		{"DomainName", "reset.example.com/"},
		{"DomainName", "Reset.Example.com"},
		{"CertificateArn", "arn:aws:iam::123456789012:server-certificate/x"},
		{"AllowedOrigins", "*"},
		{"AllowedOrigins", "https://app.example.com/"},
		{"AllowedOrigins", "https://app.example.com, http://localhost:5173"},
		{"AllowedOrigins", "https://App.example.com"},
		{"AllowedOrigins", "app.example.com"},
		{"UsersEmailIndexName", ""},
		{"UsersUsernameIndexName", "x"},
		{"PasswordHash", "md5"},
		{"OtpLength", "3"},
	} {
		p, ok := params[tt.name]
		if !ok {
			t.Errorf("%s is not a parameter", tt.name)
			continue
		}
		if p.refuses(tt.value) == "" {
			t.Errorf("%s=%q: taken, want refused", tt.name, tt.value)
		}
	}
}

// TestRulesRefuseHalfACustomDomain: a domain without a certificate, a
// certificate without a domain, and a created users table without a
// user-name index are refused before anything is created.
func TestRulesRefuseHalfACustomDomain(t *testing.T) {
	for _, tt := range []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"DomainName": "reset.example.com"}, "DomainNameNeedsCertificate"},
		{map[string]any{"CertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/x"}, "CertificateNeedsDomainName"},
		{map[string]any{"UsersUsernameIndexName": ""}, "CreatedUsersTableHasUsernameIndex"},
	} {
		s, err := load(readTemplate(t), variant{name: "broken", params: tt.params})
		if err != nil {
			t.Fatal(err)
		}
		problems := ruleProblems(s)
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.HasPrefix(p, "rule "+tt.want+":") }) {
			t.Errorf("%v: got %q, want rule %s to fail", tt.params, problems, tt.want)
		}
	}
}
