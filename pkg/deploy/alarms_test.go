package deploy_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/metrics"
)

// The checks in this file hold what the on-call relies on (README.md,
// "Operating it"): the alarms and the dashboard read only metrics the
// code writes, with dimensions it writes them under; every alarm says
// what it means, decides what missing data means, and notifies the topics
// the parameters name; SES publishes the mail events that matter. They
// run on template.yaml for every variant here, and on SAM's translation
// of it in TestSAMTranslation (checkTranslatedOperations).

func TestAlarmsWatchWrittenMetrics(t *testing.T) { runCheck(t, checkServiceMetrics) }
func TestAlarmsNotify(t *testing.T)              { runCheck(t, checkAlarms) }
func TestMailEventDestination(t *testing.T)      { runCheck(t, checkMailEvents) }

// serviceWide is the dimensions of the service-wide total of a metric in
// metrics.Namespace, the one every alarm on such a metric watches: none,
// as pkg/metrics publishes each metric with the empty dimension set
// besides its splits. Should the code publish its totals under a constant
// dimension instead (Service=passreset), it goes here, and in the
// Dimensions of those alarms and the dashboard's metrics.
var serviceWide = map[string]string{}

// splitBy is the one dimension besides Flow a metric is split by, as
// pkg/metrics documents them: the dashboard may draw these splits.
var splitBy = map[string]string{
	metrics.RateLimited:      metrics.Scope,
	metrics.ResetCompleted:   metrics.Channel,
	metrics.PasswordRejected: metrics.Reason,
}

// allowedSplits is the dimensions a metric of the service is published
// under beyond serviceWide: Flow for each, and its own split.
func allowedSplits(name string) []string {
	dims := []string{metrics.Flow}
	if d, ok := splitBy[name]; ok {
		dims = append(dims, d)
	}
	return dims
}

// serviceMetricProblem says what is wrong with reading the service's
// metric name with the dimensions dims at where: a name the code does not
// write, or dimensions it does not publish that metric under. An alarm
// (total) must read the service-wide total.
func serviceMetricProblem(where, name string, dims []string, total bool) string {
	if !slices.Contains(metrics.Names, name) {
		return fmt.Sprintf("%s reads %s/%s, which is not in metrics.Names: no code writes it", where, metrics.Namespace, name)
	}
	want := slices.Sorted(maps.Keys(serviceWide))
	got := slices.Sorted(slices.Values(dims))
	if total {
		if !slices.Equal(got, want) {
			return fmt.Sprintf("%s reads %s/%s with dimensions %q; an alarm watches the service-wide total, dimensions %q", where, metrics.Namespace, name, got, want)
		}
		return ""
	}
	extra := slices.DeleteFunc(slices.Clone(got), func(d string) bool { return slices.Contains(want, d) })
	if len(got)-len(extra) != len(want) || len(extra) > 1 || (len(extra) == 1 && !slices.Contains(allowedSplits(name), extra[0])) {
		return fmt.Sprintf("%s reads %s/%s with dimensions %q; pkg/metrics publishes it with %q and one of %q", where, metrics.Namespace, name, got, want, allowedSplits(name))
	}
	return ""
}

// alarmIDs is the logical IDs of the template's alarms, sorted, those
// whose condition is false in the variant left out.
func (s *stack) alarmIDs() []string {
	resources, _ := s.raw["Resources"].(map[string]any)
	var ids []string
	for id, r := range resources {
		if m := asMap(r); m["Type"] == "AWS::CloudWatch::Alarm" && s.exists(id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// exists reports whether the variant's stack holds the resource id: the
// template has it and its condition, if any, holds. SAM's translation has
// already dropped the resources whose condition is false.
func (s *stack) exists(id string) bool {
	r, ok := s.resource(id)
	if !ok {
		return false
	}
	name, ok := r["Condition"].(string)
	if !ok {
		return true
	}
	holds, _ := s.condition(name)
	return holds
}

// watched is each metric an alarm reads: its own, or each of its metric
// math's MetricStats.
type watched struct {
	namespace, name string
	dims            map[string]string
}

func alarmMetrics(props map[string]any) []watched {
	dims := func(v any) map[string]string {
		out := map[string]string{}
		for _, d := range list(v) {
			out[fmt.Sprint(asMap(d)["Name"])] = fmt.Sprint(asMap(d)["Value"])
		}
		return out
	}
	if ns, ok := props["Namespace"].(string); ok {
		return []watched{{ns, fmt.Sprint(props["MetricName"]), dims(props["Dimensions"])}}
	}
	var out []watched
	for _, q := range list(props["Metrics"]) {
		m := asMap(asMap(asMap(q)["MetricStat"])["Metric"])
		if m != nil {
			out = append(out, watched{fmt.Sprint(m["Namespace"]), fmt.Sprint(m["MetricName"]), dims(m["Dimensions"])})
		}
	}
	return out
}

// checkServiceMetrics: every alarm on the service's namespace watches the
// service-wide total of a metric in metrics.Names, and every dashboard
// widget draws only metrics in metrics.Names with dimensions pkg/metrics
// publishes them under.
func checkServiceMetrics(s *stack) []string {
	var problems []string
	for _, id := range s.alarmIDs() {
		for _, w := range alarmMetrics(s.properties(id)) {
			if w.namespace != metrics.Namespace {
				continue
			}
			if p := serviceMetricProblem("alarm "+id, w.name, slices.Collect(maps.Keys(w.dims)), true); p != "" {
				problems = append(problems, p)
			}
			for k, v := range serviceWide {
				if w.dims[k] != v {
					problems = append(problems, fmt.Sprintf("alarm %s: dimension %s is %q, want %q", id, k, w.dims[k], v))
				}
			}
		}
	}
	return append(problems, dashboardProblems(s)...)
}

// search is a SEARCH expression's schema and metric name:
// SEARCH('{Namespace,Dim,...} MetricName="Name"', ...).
var search = regexp.MustCompile(`SEARCH\('\{([^}]*)\}\s+MetricName="([^"]+)"`)

// dashboardProblems reports each widget of the dashboard that reads the
// service's namespace otherwise than checkServiceMetrics allows.
func dashboardProblems(s *stack) []string {
	var problems []string
	dashboards := 0
	resources, _ := s.raw["Resources"].(map[string]any)
	for _, id := range sortedKeys(resources) {
		if asMap(resources[id])["Type"] != "AWS::CloudWatch::Dashboard" {
			continue
		}
		dashboards++
		body, _ := s.properties(id)["DashboardBody"].(string)
		var dash struct {
			Widgets []struct {
				Type       string
				Properties struct {
					Title   string
					Metrics [][]any
				}
			}
		}
		if err := json.Unmarshal([]byte(body), &dash); err != nil {
			problems = append(problems, fmt.Sprintf("dashboard %s: DashboardBody is not JSON: %v", id, err))
			continue
		}
		for _, w := range dash.Widgets {
			where := fmt.Sprintf("dashboard %s, widget %q", id, w.Properties.Title)
			for _, m := range w.Properties.Metrics {
				if p := widgetMetricProblem(where, m); p != "" {
					problems = append(problems, p)
				}
			}
		}
	}
	if dashboards != 1 {
		problems = append(problems, fmt.Sprintf("%d dashboards, want one", dashboards))
	}
	return problems
}

// widgetMetricProblem checks one entry of a widget's metrics: a SEARCH
// expression, or [namespace, name, dimension, value, ..., {options}].
func widgetMetricProblem(where string, m []any) string {
	if len(m) == 0 {
		return where + ": an empty metric"
	}
	if opts, ok := m[0].(map[string]any); ok {
		expr, _ := opts["expression"].(string)
		if !strings.Contains(expr, metrics.Namespace) {
			return ""
		}
		s := search.FindStringSubmatch(expr)
		if s == nil {
			return fmt.Sprintf("%s: expression %q reads %s other than by SEARCH('{%s,Dimension} MetricName=\"Name\"')", where, expr, metrics.Namespace, metrics.Namespace)
		}
		schema := strings.Split(s[1], ",")
		if strings.TrimSpace(schema[0]) != metrics.Namespace {
			return fmt.Sprintf("%s: expression %q names %s outside its schema's namespace", where, expr, metrics.Namespace)
		}
		var dims []string
		for _, d := range schema[1:] {
			dims = append(dims, strings.TrimSpace(d))
		}
		return serviceMetricProblem(where, s[2], dims, false)
	}
	var parts []string
	for _, p := range m {
		if str, ok := p.(string); ok {
			parts = append(parts, str)
		}
	}
	if len(parts) < 2 || parts[0] == "." || parts[1] == "." {
		return fmt.Sprintf("%s: metric %v: want the namespace and name spelled out", where, m)
	}
	if parts[0] != metrics.Namespace {
		return ""
	}
	if len(parts)%2 != 0 {
		return fmt.Sprintf("%s: metric %v: a dimension without its value", where, m)
	}
	var dims []string
	for i := 2; i < len(parts); i += 2 {
		dims = append(dims, parts[i])
	}
	return serviceMetricProblem(where, parts[1], dims, false)
}

// treatMissingData is what CloudWatch takes for TreatMissingData. Leaving
// it out means "missing", which the template must choose, not inherit.
var treatMissingData = []string{"breaching", "notBreaching", "ignore", "missing"}

// checkAlarms: every alarm has a description and a deliberate
// TreatMissingData, and notifies (and reports its recovery to) exactly the
// topics the variant names: the stack's AlarmTopic with AlarmEmail,
// AlarmTopicArn with it, none without; AlarmTopic exists and mails
// AlarmEmail exactly when it is set. Each function has an alarm on its
// Lambda errors and one on its throttles, and the API one on its 5xx.
func checkAlarms(s *stack) []string {
	var problems []string
	email, topic := s.v.param("AlarmEmail"), s.v.param("AlarmTopicArn")
	var want []string
	if email != "" {
		want = append(want, "${AlarmTopic}")
	}
	if topic != "" {
		want = append(want, topic)
	}
	ids := s.alarmIDs()
	if len(ids) == 0 {
		problems = append(problems, "no alarms")
	}
	for _, id := range ids {
		p := s.properties(id)
		if d, _ := p["AlarmDescription"].(string); strings.TrimSpace(d) == "" {
			problems = append(problems, fmt.Sprintf("alarm %s: no AlarmDescription saying what it means and what to do", id))
		}
		if tmd, _ := p["TreatMissingData"].(string); !slices.Contains(treatMissingData, tmd) {
			problems = append(problems, fmt.Sprintf("alarm %s: TreatMissingData %v; want one of %q, chosen", id, p["TreatMissingData"], treatMissingData))
		}
		for _, key := range []string{"AlarmActions", "OKActions"} {
			var got []string
			for _, a := range list(p[key]) {
				if a != nil { // !Ref AWS::NoValue
					got = append(got, fmt.Sprint(a))
				}
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				problems = append(problems, fmt.Sprintf("alarm %s: %s %q, want %q (AlarmEmail %q, AlarmTopicArn %q)", id, key, got, want, email, topic))
			}
		}
	}
	switch has := s.exists("AlarmTopic"); {
	case has != (email != ""):
		problems = append(problems, fmt.Sprintf("AlarmTopic: present %v, want %v (AlarmEmail %q)", has, email != "", email))
	case has:
		subs := list(s.properties("AlarmTopic")["Subscription"])
		if len(subs) != 1 || asMap(subs[0])["Protocol"] != "email" || asMap(subs[0])["Endpoint"] != email {
			problems = append(problems, fmt.Sprintf("AlarmTopic: subscriptions %v, want one email subscription of %s", subs, email))
		}
	}

	watches := func(namespace, name, dim, value string) bool {
		return slices.ContainsFunc(ids, func(id string) bool {
			return slices.ContainsFunc(alarmMetrics(s.properties(id)), func(w watched) bool {
				return w.namespace == namespace && w.name == name && w.dims[dim] == value
			})
		})
	}
	resources, _ := s.raw["Resources"].(map[string]any)
	for _, id := range sortedKeys(resources) {
		if typ := asMap(resources[id])["Type"]; typ != "AWS::Serverless::Function" && typ != "AWS::Lambda::Function" {
			continue
		}
		for _, m := range []string{"Errors", "Throttles"} {
			if !watches("AWS/Lambda", m, "FunctionName", "${"+id+"}") {
				problems = append(problems, fmt.Sprintf("function %s: no alarm on AWS/Lambda %s", id, m))
			}
		}
	}
	if !watches("AWS/ApiGateway", "5xx", "ApiId", "${HttpApi}") {
		problems = append(problems, "HttpApi: no alarm on AWS/ApiGateway 5xx")
	}
	return problems
}

// mailEvents are the SES events that say a mail did not arrive or hurt
// the sender's reputation, which the configuration set must publish to
// CloudWatch, and the two that make the funnel.
var mailEvents = []string{"BOUNCE", "COMPLAINT", "DELIVERY_DELAY", "REJECT", "RENDERING_FAILURE", "SEND", "DELIVERY"}

// checkMailEvents: MailConfigurationSet has a CloudWatch event
// destination, enabled, publishing mailEvents with the configuration set
// as the metrics' dimension (the dashboard reads ses:configuration-set).
func checkMailEvents(s *stack) []string {
	resources, _ := s.raw["Resources"].(map[string]any)
	var found []string
	for _, id := range sortedKeys(resources) {
		if asMap(resources[id])["Type"] != "AWS::SES::ConfigurationSetEventDestination" {
			continue
		}
		p := s.properties(id)
		dest := asMap(p["EventDestination"])
		cw := asMap(dest["CloudWatchDestination"])
		if p["ConfigurationSetName"] != "${MailConfigurationSet}" || cw == nil {
			continue
		}
		var problems []string
		if dest["Enabled"] != true {
			problems = append(problems, fmt.Sprintf("%s: Enabled %v, want true", id, dest["Enabled"]))
		}
		var types []string
		for _, e := range list(dest["MatchingEventTypes"]) {
			types = append(types, fmt.Sprint(e))
		}
		for _, e := range mailEvents {
			if !slices.Contains(types, e) {
				problems = append(problems, fmt.Sprintf("%s: MatchingEventTypes %q lack %s", id, types, e))
			}
		}
		dims := list(cw["DimensionConfigurations"])
		if !slices.ContainsFunc(dims, func(d any) bool {
			return asMap(d)["DimensionName"] == "ses:configuration-set" && strings.EqualFold(fmt.Sprint(asMap(d)["DimensionValueSource"]), "MESSAGE_TAG")
		}) {
			problems = append(problems, fmt.Sprintf("%s: no dimension ses:configuration-set from the message tag: %v", id, dims))
		}
		if len(problems) == 0 {
			return nil
		}
		found = append(found, problems...)
	}
	if found == nil {
		return []string{"MailConfigurationSet has no CloudWatch event destination"}
	}
	return found
}

// checkTranslatedOperations runs this file's checks on SAM's translation.
func checkTranslatedOperations(tr *translation) []string {
	s := &stack{raw: tr.raw, v: tr.v}
	var problems []string
	for _, check := range []func(*stack) []string{checkServiceMetrics, checkAlarms, checkMailEvents} {
		problems = append(problems, check(s)...)
	}
	return problems
}

// TestOperationChecksCatchBreakage feeds the checks above a copy of
// template.yaml broken in one way each, and wants them to say so.
func TestOperationChecksCatchBreakage(t *testing.T) {
	good := string(readTemplate(t))
	emailOnly := variantNamed("alarms to an email")
	both := variantNamed("alarms to a topic and an email")
	tests := []struct {
		name     string
		old, new string
		check    func(*stack) []string
		want     string
		v        variant
	}{
		{
			name:  "alarm on a metric no code writes",
			old:   "      MetricName: WrongGuess\n",
			new:   "      MetricName: WrongGuesses\n",
			check: checkServiceMetrics,
			want:  "alarm WrongGuessSurgeAlarm reads passreset/WrongGuesses, which is not in metrics.Names",
		},
		{
			name:  "alarm on one flow only",
			old:   "      MetricName: MailFailed\n",
			new:   "      MetricName: MailFailed\n      Dimensions:\n        - Name: Flow\n          Value: RequestCode\n",
			check: checkServiceMetrics,
			want:  "alarm MailFailedAlarm reads passreset/MailFailed with dimensions [\"Flow\"]",
		},
		{
			name:  "widget on a metric no code writes",
			old:   `["passreset", "MailSent", {"label": "MailSent"}]`,
			new:   `["passreset", "MailsSent", {"label": "MailSent"}]`,
			check: checkServiceMetrics,
			want:  "reads passreset/MailsSent, which is not in metrics.Names",
		},
		{
			name:  "widget splitting by a dimension the metric lacks",
			old:   `{passreset,Scope} MetricName=\"RateLimited\"`,
			new:   `{passreset,Channel} MetricName=\"RateLimited\"`,
			check: checkServiceMetrics,
			want:  `reads passreset/RateLimited with dimensions ["Channel"]`,
		},
		{
			name:  "alarm without a description",
			old:   "      AlarmDescription: >-\n        5% or more of the API's answers were 5xx in two 5-minute periods in a row (with at\n        least 10 requests in each). Users cannot reset passwords. Find which function: the\n        dashboard's Lambda errors and throttles, and the access log (its status and\n        integrationStatus per route). A function's log names the failing call: DynamoDB,\n        SES or Secrets Manager. Check the AWS Health Dashboard for the Region.\n",
			new:   "      AlarmDescription: \"\"\n",
			check: checkAlarms,
			want:  "alarm ApiServerErrorRateAlarm: no AlarmDescription",
		},
		{
			name:  "missing data left to the default",
			old:   "      TreatMissingData: notBreaching\n",
			new:   "",
			check: checkAlarms,
			want:  "TreatMissingData <nil>",
		},
		{
			name:  "alarm not mailed",
			old:   "      AlarmActions:\n        - !If [HasAlarmEmail, !Ref AlarmTopic, !Ref AWS::NoValue]\n",
			new:   "      AlarmActions:\n",
			check: checkAlarms,
			want:  `AlarmActions [], want ["${AlarmTopic}"]`,
			v:     emailOnly,
		},
		{
			name:  "team's topic not notified",
			old:   "        - !If [HasAlarmTopicArn, !Ref AlarmTopicArn, !Ref AWS::NoValue]\n",
			new:   "",
			check: checkAlarms,
			want:  `AlarmActions ["${AlarmTopic}"], want ["${AlarmTopic}" "arn:aws:sns:eu-west-1:123456789012:pager"]`,
			v:     both,
		},
		{
			name:  "topic mails someone else",
			old:   "          Endpoint: !Ref AlarmEmail\n",
			new:   "          Endpoint: nobody@example.com\n",
			check: checkAlarms,
			want:  "AlarmTopic: subscriptions",
			v:     emailOnly,
		},
		{
			name:  "a function without an errors alarm",
			old:   "      MetricName: Errors\n      Dimensions:\n        - Name: FunctionName\n          Value: !Ref OtpCreateFunction\n",
			new:   "      MetricName: Errors\n      Dimensions:\n        - Name: FunctionName\n          Value: !Ref OtpValidateFunction\n",
			check: checkAlarms,
			want:  "function OtpCreateFunction: no alarm on AWS/Lambda Errors",
		},
		{
			name:  "bounces not published",
			old:   "MatchingEventTypes: [SEND, DELIVERY, BOUNCE, COMPLAINT",
			new:   "MatchingEventTypes: [SEND, DELIVERY, COMPLAINT",
			check: checkMailEvents,
			want:  "lack BOUNCE",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("template.yaml no longer contains %q; update this case", tt.old)
			}
			v := tt.v
			if v.name == "" {
				v = variants[0]
			}
			s, err := load([]byte(strings.Replace(good, tt.old, tt.new, 1)), v)
			if err != nil {
				t.Fatalf("load broken template: %v", err)
			}
			problems := tt.check(s)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("got problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}
