package deploy_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation/dynamodb"
)

// The checks in this file hold what checkPolicies cannot see in an action
// and a resource: the conditions that narrow a grant to what the code
// names, and the index projections that keep the password hash away from
// the functions that only send mail.

// passwordAttributes are the users-table attributes a password change
// names (pkg/dynamo's setPassword), by the variables that name them: it
// sets the hash, session_version and the time, and its condition reads the
// key, session_version and the email the code or link was mailed to. IAM's
// dynamodb:Attributes counts every attribute a request names, whether it
// writes it or only reads it in a condition, and must list the key.
var passwordAttributes = []string{
	"USERS_KEY_ATTRIBUTE",
	"USERS_PASSWORD_ATTRIBUTE",
	"USERS_SESSION_VERSION_ATTRIBUTE",
	"USERS_PASSWORD_CHANGED_AT_ATTRIBUTE",
	"USERS_EMAIL_ATTRIBUTE",
}

// sendAttributes are the users-table attributes the send flows read from
// an index (pkg/dynamo's account(), less the password hash), by the
// variables that name them. An empty variable (no verified or no enabled
// attribute) names none.
var sendAttributes = []string{
	"USERS_KEY_ATTRIBUTE",
	"USERS_EMAIL_ATTRIBUTE",
	"USERS_USERNAME_ATTRIBUTE",
	"USERS_SESSION_VERSION_ATTRIBUTE",
	"USERS_VERIFIED_ATTRIBUTE",
	"USERS_ENABLED_ATTRIBUTE",
}

// checkSecretGrant: a function may read the HMAC key secret if and only if
// the permissions table says its code does, and no function may do
// anything else with Secrets Manager.
func checkSecretGrant(s *stack) []string {
	var problems []string
	read := "secretsmanager:GetSecretValue on " + s.arn(hmacKey)
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		granted := false
		for _, g := range sortedKeys(grantsOf(s, id)) {
			switch {
			case g == read:
				granted = true
			case strings.HasPrefix(strings.ToLower(g), "secretsmanager:") || strings.HasPrefix(g, "*"):
				problems = append(problems, fmt.Sprintf("function %s: grants %s; the one secret a function reads is the HMAC key, with GetSecretValue", id, g))
			}
		}
		switch needed := slices.Contains(permissions[dir][hmacKey], "secretsmanager:GetSecretValue"); {
		case granted && !needed:
			problems = append(problems, fmt.Sprintf("function %s: may read the HMAC key secret, which its code never reads", id))
		case needed && !granted:
			problems = append(problems, fmt.Sprintf("function %s: cannot read the HMAC key secret, which its code reads", id))
		}
	}
	return problems
}

// checkUsersTableUpdates: every grant of UpdateItem on the users table
// lists in dynamodb:Attributes exactly the attributes a password change
// names, so that no other attribute of an account (its email, its
// verified or enabled flag) can be written, and limits ReturnValues to
// NONE, since ALL_OLD and ALL_NEW would return the attributes not listed.
// PutItem, which replaces whole items past any attribute condition, is
// granted nowhere on the users table (checkPolicies).
func checkUsersTableUpdates(s *stack) []string {
	var problems []string
	env := s.env("") // the users table's names are Globals
	var want []string
	for _, v := range passwordAttributes {
		want = append(want, env[v])
	}
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		for _, st := range allowStatements(s, id) {
			if !st.allows("dynamodb:UpdateItem") || !st.on(s.arn(usersTable)) {
				continue
			}
			where := fmt.Sprintf("function %s: statement %s", id, st.name())
			got, ok := st.condition("ForAllValues:StringEquals", "dynamodb:Attributes")
			if !ok {
				problems = append(problems, fmt.Sprintf("%s may update any attribute of the users table: want ForAllValues:StringEquals dynamodb:Attributes %q", where, want))
				continue
			}
			for _, a := range got {
				if !slices.Contains(want, a) {
					problems = append(problems, fmt.Sprintf("%s may update %q of the users table, which a password change does not name", where, a))
				}
			}
			for _, a := range want {
				if !slices.Contains(got, a) {
					problems = append(problems, fmt.Sprintf("%s does not list %q in dynamodb:Attributes, which a password change names: IAM would refuse it", where, a))
				}
			}
			returns, ok := st.condition("StringEqualsIfExists", "dynamodb:ReturnValues")
			if !ok {
				returns, ok = st.condition("StringEquals", "dynamodb:ReturnValues")
			}
			if !ok || !slices.Equal(returns, []string{"NONE"}) {
				problems = append(problems, fmt.Sprintf("%s may have the users table return attributes (dynamodb:ReturnValues %q): want NONE", where, returns))
			}
		}
	}
	return problems
}

// checkIndexProjections: the users table's email and user-name indexes
// project exactly what the send flows read of an account, so a function
// that only sends mail never reads a password hash.
func checkIndexProjections(s *stack) []string {
	users, err := s.tpl.GetDynamoDBTableWithName("UsersTable")
	if err != nil {
		return nil // checkTables reports it
	}
	var problems []string
	env := s.env("")
	var want []string
	for _, v := range sendAttributes {
		if env[v] != "" {
			want = append(want, env[v])
		}
	}
	password := env["USERS_PASSWORD_ATTRIBUTE"]
	for _, name := range []string{env["USERS_EMAIL_INDEX"], env["USERS_USERNAME_INDEX"]} {
		i := slices.IndexFunc(users.GlobalSecondaryIndexes, func(g dynamodb.Table_GlobalSecondaryIndex) bool { return g.IndexName == name })
		if i < 0 {
			continue // checkTables reports it
		}
		gsi := users.GlobalSecondaryIndexes[i]
		where := "table UsersTable: index " + name
		// DynamoDB projects the table's key and the index's own key.
		var projected []string
		for _, k := range append(users.KeySchema, gsi.KeySchema...) {
			projected = append(projected, k.AttributeName)
		}
		kind := ""
		if gsi.Projection != nil {
			kind = deref(gsi.Projection.ProjectionType)
		}
		switch kind {
		case "KEYS_ONLY":
		case "INCLUDE":
			for _, a := range gsi.Projection.NonKeyAttributes {
				switch {
				case a == "": // !Ref AWS::NoValue: an attribute the variant does not have
				case slices.Contains(projected, a):
					problems = append(problems, fmt.Sprintf("%s lists key attribute %q in NonKeyAttributes; DynamoDB projects keys itself", where, a))
				default:
					projected = append(projected, a)
				}
			}
		default:
			problems = append(problems, fmt.Sprintf("%s projects %s, the password hash %q with it: want INCLUDE", where, kind, password))
			continue
		}
		for _, a := range projected {
			switch {
			case a == password:
				problems = append(problems, fmt.Sprintf("%s projects the password hash %q, which the send flows never read", where, a))
			case !slices.Contains(want, a):
				problems = append(problems, fmt.Sprintf("%s projects %q, which the send flows do not read", where, a))
			}
		}
		for _, a := range want {
			if !slices.Contains(projected, a) {
				problems = append(problems, fmt.Sprintf("%s does not project %q, which the send flows read from it", where, a))
			}
		}
	}
	return problems
}

// checkSendFrom: every grant of ses:SendEmail lets a function send only
// from the address it is given (MAIL_FROM), not from any address of the
// SES identity's domain.
func checkSendFrom(s *stack) []string {
	var problems []string
	for _, dir := range sortedKeys(s.functions()) {
		id := logicalID(dir)
		from := s.env(dir)["MAIL_FROM"]
		for _, st := range allowStatements(s, id) {
			if !st.allows("ses:SendEmail") {
				continue
			}
			got, ok := st.condition("StringEquals", "ses:FromAddress")
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("function %s: statement %s may send mail from any address of the identity: want StringEquals ses:FromAddress MAIL_FROM (%s)", id, st.name(), from))
			case !slices.Equal(got, []string{from}):
				problems = append(problems, fmt.Sprintf("function %s: statement %s may send mail from %q, but the function sends from MAIL_FROM (%s)", id, st.name(), got, from))
			}
		}
	}
	return problems
}

// A statement is one Allow statement of a function's inline policies, as
// a variant processes it.
type statement map[string]any

// allowStatements is every Allow statement of the inline policies of the
// function id. checkPolicies refuses every other kind of policy.
func allowStatements(s *stack, id string) []statement {
	resources, _ := s.raw["Resources"].(map[string]any)
	res, _ := resources[id].(map[string]any)
	props, _ := res["Properties"].(map[string]any)
	var out []statement
	for _, doc := range list(props["Policies"]) {
		d, _ := doc.(map[string]any)
		for _, st := range list(d["Statement"]) {
			if stmt, _ := st.(map[string]any); stmt["Effect"] == "Allow" {
				out = append(out, stmt)
			}
		}
	}
	return out
}

// name is the statement's Sid, for messages.
func (st statement) name() string {
	if sid, ok := st["Sid"].(string); ok {
		return sid
	}
	return fmt.Sprint(map[string]any(st))
}

// allows reports whether the statement grants action, by name or by a
// wildcard such as "dynamodb:*" or "dynamodb:Update*" (actions are not
// case-sensitive).
func (st statement) allows(action string) bool {
	for _, a := range list(st["Action"]) {
		if glob(strings.ToLower(fmt.Sprint(a))).MatchString(strings.ToLower(action)) {
			return true
		}
	}
	return false
}

// on reports whether the statement's resources take in arn, by name or by
// a wildcard.
func (st statement) on(arn string) bool {
	for _, r := range list(st["Resource"]) {
		if glob(fmt.Sprint(r)).MatchString(arn) {
			return true
		}
	}
	return false
}

// condition returns the values the statement's condition gives key under
// operator, and whether it gives any.
func (st statement) condition(operator, key string) ([]string, bool) {
	cond, _ := st["Condition"].(map[string]any)
	op, _ := cond[operator].(map[string]any)
	v, ok := op[key]
	if !ok {
		return nil, false
	}
	var values []string
	for _, x := range list(v) {
		values = append(values, fmt.Sprint(x))
	}
	return values, true
}

// glob is an IAM pattern as a regular expression: * is any run of
// characters, "/" included, and ? is one.
func glob(pattern string) *regexp.Regexp {
	q := regexp.QuoteMeta(pattern)
	q = strings.ReplaceAll(q, `\*`, ".*")
	q = strings.ReplaceAll(q, `\?`, ".")
	return regexp.MustCompile("^" + q + "$")
}
