package devserver

import (
	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/function"
)

// DevHMACKey is the key codes are hashed with on the dev stack. It is
// written here, in a public repository, so it protects nothing: it is for
// the dev stack only and must never be deployed (deployed functions read
// theirs from Secrets Manager).
const DevHMACKey = "6465762d6f6e6c792d686d61632d6b65792d6e657665722d6465706c6f792d6974"

// The tables and sender of the dev stack.
const (
	TokensTable = "passreset-tokens"
	UsersTable  = "passreset-users"
	MailFrom    = "no-reply@passreset.local"
)

// Environment is the service's configuration on the dev stack whose API
// answers on apiURL: the dev defaults (tables, sender, reset URL, dev key),
// overridden by any of config.Variables that getenv sets, so that
// MAX_ATTEMPTS=3 make dev and ALLOWED_ORIGINS=http://localhost:5173 make dev
// work. API_URL is always apiURL: it is where this API answers, not a
// choice, and a shell may well hold an API_URL meant for another program,
// which would have the reset page's own posts refused. Other variables are
// not read.
func Environment(getenv func(string) string, apiURL string) func(string) string {
	defaults := map[string]string{
		"TOKENS_TABLE": TokensTable,
		"USERS_TABLE":  UsersTable,
		"MAIL_FROM":    MailFrom,
		"RESET_URL":    apiURL + "/auth/reset-password/{token}",
		"HMAC_KEY":     DevHMACKey,
		"HMAC_KEY_ID":  "dev",
	}
	env := map[string]string{}
	for _, v := range config.Variables {
		if got := getenv(v.Name); got != "" {
			env[v.Name] = got
		} else if d, ok := defaults[v.Name]; ok {
			env[v.Name] = d
		}
	}
	env["API_URL"] = apiURL
	return func(name string) string { return env[name] }
}

// FunctionEnv is the environment of a function's bootstrap run against
// the dev stack described by st: the service's configuration (see
// Environment) and the AWS SDK's settings pointing it at the emulators.
func FunctionEnv(getenv func(string) string, st State) []string {
	conf := Environment(withUserPool(getenv, st.UserPool), st.API)
	var env []string
	for _, v := range config.Variables {
		if val := conf(v.Name); val != "" {
			env = append(env, v.Name+"="+val)
		}
	}
	if st.Cognito != "" {
		env = append(env, "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER="+st.Cognito)
	}
	return append(env,
		"AWS_ENDPOINT_URL_DYNAMODB="+st.DynamoDB,
		"AWS_ENDPOINT_URL_SESV2="+st.SES,
		"AWS_REGION="+Region,
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		// The SDK must not look for a profile or an instance role.
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// Region is the region the dev stack's clients name; the emulators accept
// any.
const Region = function.LocalRegion
