package config_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/password"
)

// testKey is a valid HMAC_KEY: 64 hex digits. Tests check that no error
// ever repeats it.
const testKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

// minimal is the smallest environment Load accepts.
func minimal() map[string]string {
	return map[string]string{
		"MAIL_FROM":    "no-reply@example.test",
		"TOKENS_TABLE": "tokens",
		"USERS_TABLE":  "users",
		"RESET_URL":    "https://app.example.test/reset/{token}",
		"HMAC_KEY":     testKey,
	}
}

// with returns minimal() with the given variables set ("" to unset).
func with(vars map[string]string) map[string]string {
	env := minimal()
	for k, v := range vars {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	return env
}

func getenv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

func TestLoadMinimal(t *testing.T) {
	c, err := config.Load(getenv(minimal()))
	if err != nil {
		t.Fatalf("Load(minimal env) = %v, want nil", err)
	}
	if c.Mail.From != "no-reply@example.test" {
		t.Errorf("Mail.From = %q, want %q", c.Mail.From, "no-reply@example.test")
	}
	if c.TokensTable != "tokens" {
		t.Errorf("TokensTable = %q, want %q", c.TokensTable, "tokens")
	}
	if c.Users.Name != "users" {
		t.Errorf("Users.Name = %q, want %q", c.Users.Name, "users")
	}
	if c.Reset.ResetURL != "https://app.example.test/reset/{token}" {
		t.Errorf("Reset.ResetURL = %q, want the RESET_URL as given", c.Reset.ResetURL)
	}
	if len(c.HMACKey) != 32 || c.HMACKey[1] != 0x11 {
		t.Errorf("HMACKey = %d bytes starting %x, want the 32 bytes of HMAC_KEY", len(c.HMACKey), c.HMACKey[:min(2, len(c.HMACKey))])
	}
	if c.HMACKeyID != "local" {
		t.Errorf("HMACKeyID = %q, want %q", c.HMACKeyID, "local")
	}
}

// TestLoadContractDefaults pins the defaults docs/contract.md states.
func TestLoadContractDefaults(t *testing.T) {
	c, err := config.Load(getenv(minimal()))
	if err != nil {
		t.Fatalf("Load(minimal env) = %v, want nil", err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"OTP_LENGTH", c.Reset.OTPLength, 6},
		{"OTP_TTL", c.Reset.OTPTTL, 10 * time.Minute},
		{"LINK_TTL", c.Reset.LinkTTL, 60 * time.Minute},
		{"GRANT_TTL", c.Reset.GrantTTL, 5 * time.Minute},
		{"MAX_ATTEMPTS", c.Reset.MaxAttempts, 5},
		{"MAX_SENDS_PER_HOUR", c.Reset.MaxSendsPerHour, 3},
		{"MIN_SEND_INTERVAL", c.Reset.MinSendInterval, 60 * time.Second},
		{"IP_LIMIT", c.Reset.IPLimit, 30},
		{"IP_WINDOW", c.Reset.IPWindow, 5 * time.Minute},
		{"REVEAL_UNKNOWN_ACCOUNTS", c.Reset.RevealUnknownAccounts, false},
		{"MAX_FAILURES_PER_DAY", c.Reset.MaxFailuresPerDay, 20},
		{"MIN_PASSWORD_LENGTH", c.Password.MinLength, 8},
		{"password max length", c.Password.MaxLength, 128},
		{"PASSWORD_HASH", c.Password.Algorithm, password.Argon2id},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("with %s unset: got %v, want %v", tt.name, tt.got, tt.want)
			}
		})
	}
}

// TestLoadVariablesDefaults checks that every default config.Variables
// documents is what Load yields when the variable is unset: setting the
// variable to its listed default changes nothing.
func TestLoadVariablesDefaults(t *testing.T) {
	unset, err := config.Load(getenv(minimal()))
	if err != nil {
		t.Fatalf("Load(minimal env) = %v, want nil", err)
	}
	for _, v := range config.Variables {
		if v.Default == "" {
			continue
		}
		t.Run(v.Name, func(t *testing.T) {
			set, err := config.Load(getenv(with(map[string]string{v.Name: v.Default})))
			if err != nil {
				t.Fatalf("Load with %s=%q: %v, want nil", v.Name, v.Default, err)
			}
			if !reflect.DeepEqual(set, unset) {
				t.Errorf("Load with %s=%q gives\n%+v\nwant the same as unset:\n%+v", v.Name, v.Default, set, unset)
			}
		})
	}
}

// TestLoadReadsExactlyVariables checks that config.Variables, which the
// template test and the README use, lists every variable Load reads, and
// nothing else.
func TestLoadReadsExactlyVariables(t *testing.T) {
	var read []string
	env := minimal()
	if _, err := config.Load(func(name string) string {
		read = append(read, name)
		return env[name]
	}); err != nil {
		t.Fatalf("Load(minimal env) = %v, want nil", err)
	}
	var listed []string
	for _, v := range config.Variables {
		listed = append(listed, v.Name)
		if !slices.Contains(read, v.Name) {
			t.Errorf("config.Variables lists %s, but Load never reads it", v.Name)
		}
	}
	for _, name := range read {
		if !slices.Contains(listed, name) {
			t.Errorf("Load reads %s, but config.Variables does not list it", name)
		}
	}
}

func TestLoadValues(t *testing.T) {
	tests := []struct {
		name  string
		env   map[string]string
		check func(config.Config) (got, want any)
	}{
		{"OTP_LENGTH 4", map[string]string{"OTP_LENGTH": "4"},
			func(c config.Config) (any, any) { return c.Reset.OTPLength, 4 }},
		{"OTP_LENGTH 10", map[string]string{"OTP_LENGTH": "10"},
			func(c config.Config) (any, any) { return c.Reset.OTPLength, 10 }},
		{"OTP_LENGTH trimmed", map[string]string{"OTP_LENGTH": " 7 "},
			func(c config.Config) (any, any) { return c.Reset.OTPLength, 7 }},
		{"OTP_TTL 15m", map[string]string{"OTP_TTL": "15m"},
			func(c config.Config) (any, any) { return c.Reset.OTPTTL, 15 * time.Minute }},
		{"MIN_SEND_INTERVAL 0s", map[string]string{"MIN_SEND_INTERVAL": "0s"},
			func(c config.Config) (any, any) { return c.Reset.MinSendInterval, time.Duration(0) }},
		{"REVEAL_UNKNOWN_ACCOUNTS true", map[string]string{"REVEAL_UNKNOWN_ACCOUNTS": "true"},
			func(c config.Config) (any, any) { return c.Reset.RevealUnknownAccounts, true }},
		{"PASSWORD_HASH bcrypt", map[string]string{"PASSWORD_HASH": "bcrypt"},
			func(c config.Config) (any, any) { return c.Password.Algorithm, password.Bcrypt }},
		{"RESET_URL http", map[string]string{"RESET_URL": "http://localhost:8080/auth/reset-password"},
			func(c config.Config) (any, any) { return c.Reset.ResetURL, "http://localhost:8080/auth/reset-password" }},
		{"APP_NAME", map[string]string{"APP_NAME": "Acme"},
			func(c config.Config) (any, any) { return c.Mail.AppName, "Acme" }},
		{"SES_CONFIGURATION_SET", map[string]string{"SES_CONFIGURATION_SET": "events"},
			func(c config.Config) (any, any) { return c.Mail.ConfigurationSet, "events" }},
		{"HMAC_KEY_ID", map[string]string{"HMAC_KEY_ID": "k7"},
			func(c config.Config) (any, any) { return c.HMACKeyID, "k7" }},
		{"HMAC_KEY longer than 32 bytes", map[string]string{"HMAC_KEY": testKey + "0011"},
			func(c config.Config) (any, any) { return len(c.HMACKey), 34 }},
		{"HMAC_KEY upper-case hex", map[string]string{"HMAC_KEY": strings.ToUpper(testKey)},
			func(c config.Config) (any, any) { return len(c.HMACKey), 32 }},
		{"HMAC_KEY_SECRET_ARN instead of HMAC_KEY",
			map[string]string{"HMAC_KEY": "", "HMAC_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k"},
			func(c config.Config) (any, any) {
				return c.HMACKeySecretARN, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k"
			}},
		{"HMAC_KEY_SECRET_ARN ignores a bad HMAC_KEY",
			map[string]string{"HMAC_KEY": "not hex", "HMAC_KEY_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:k"},
			func(c config.Config) (any, any) { return c.HMACKey == nil, true }},
		{"USERS_EMAIL_INDEX", map[string]string{"USERS_EMAIL_INDEX": "by-email"},
			func(c config.Config) (any, any) { return c.Users.EmailIndex, "by-email" }},
		{"LOGIN_URL", map[string]string{"LOGIN_URL": "https://app.example.test/login"},
			func(c config.Config) (any, any) { return c.LoginURL, "https://app.example.test/login" }},
		{"no SESSIONS_TABLE: no sessions table", map[string]string{"SESSIONS_ACCOUNT_ATTRIBUTE": "uid"},
			func(c config.Config) (any, any) { return c.Sessions, dynamo.SessionsTable{} }},
		{"SESSIONS_TABLE with its defaults", map[string]string{"SESSIONS_TABLE": "sessions", "SESSIONS_ACCOUNT_INDEX": "by-account"},
			func(c config.Config) (any, any) {
				return c.Sessions, dynamo.SessionsTable{Name: "sessions", AccountAttribute: "account_id", AccountIndex: "by-account", KeyAttribute: "session_id"}
			}},
		{"SESSIONS_TABLE with a sort key", map[string]string{
			"SESSIONS_TABLE": "sessions", "SESSIONS_ACCOUNT_INDEX": "by-user", "SESSIONS_ACCOUNT_ATTRIBUTE": "uid",
			"SESSIONS_KEY_ATTRIBUTE": "pk", "SESSIONS_SORT_KEY_ATTRIBUTE": "sk",
		}, func(c config.Config) (any, any) {
			return c.Sessions, dynamo.SessionsTable{Name: "sessions", AccountAttribute: "uid", AccountIndex: "by-user", KeyAttribute: "pk", SortKeyAttribute: "sk"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(getenv(with(tt.env)))
			if err != nil {
				t.Fatalf("Load with %v: %v, want nil", tt.env, err)
			}
			if got, want := tt.check(c); got != want {
				t.Errorf("Load with %v: got %v, want %v", tt.env, got, want)
			}
		})
	}
}

func TestLoadBadValue(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		variable string // the variable the error must name
	}{
		{"OTP_LENGTH 3", map[string]string{"OTP_LENGTH": "3"}, "OTP_LENGTH"},
		{"OTP_LENGTH 11", map[string]string{"OTP_LENGTH": "11"}, "OTP_LENGTH"},
		{"OTP_LENGTH six", map[string]string{"OTP_LENGTH": "six"}, "OTP_LENGTH"},
		{"OTP_LENGTH 6.5", map[string]string{"OTP_LENGTH": "6.5"}, "OTP_LENGTH"},
		{"OTP_TTL ten", map[string]string{"OTP_TTL": "ten"}, "OTP_TTL"},
		{"OTP_TTL without unit", map[string]string{"OTP_TTL": "10"}, "OTP_TTL"},
		{"OTP_TTL negative", map[string]string{"OTP_TTL": "-10m"}, "OTP_TTL"},
		{"LINK_TTL 0s", map[string]string{"LINK_TTL": "0s"}, "LINK_TTL"},
		{"LINK_TTL 25h", map[string]string{"LINK_TTL": "25h"}, "LINK_TTL"},
		{"GRANT_TTL 30s", map[string]string{"GRANT_TTL": "30s"}, "GRANT_TTL"},
		{"GRANT_TTL 16m", map[string]string{"GRANT_TTL": "16m"}, "GRANT_TTL"},
		{"GRANT_TTL five", map[string]string{"GRANT_TTL": "five"}, "GRANT_TTL"},
		{"MAX_ATTEMPTS 0", map[string]string{"MAX_ATTEMPTS": "0"}, "MAX_ATTEMPTS"},
		{"MAX_ATTEMPTS -1", map[string]string{"MAX_ATTEMPTS": "-1"}, "MAX_ATTEMPTS"},
		{"MAX_SENDS_PER_HOUR 0", map[string]string{"MAX_SENDS_PER_HOUR": "0"}, "MAX_SENDS_PER_HOUR"},
		{"MIN_SEND_INTERVAL 2h", map[string]string{"MIN_SEND_INTERVAL": "2h"}, "MIN_SEND_INTERVAL"},
		{"IP_LIMIT 0", map[string]string{"IP_LIMIT": "0"}, "IP_LIMIT"},
		{"IP_WINDOW 0s", map[string]string{"IP_WINDOW": "0s"}, "IP_WINDOW"},
		{"MAX_FAILURES_PER_DAY 0", map[string]string{"MAX_FAILURES_PER_DAY": "0"}, "MAX_FAILURES_PER_DAY"},
		{"MIN_PASSWORD_LENGTH 7", map[string]string{"MIN_PASSWORD_LENGTH": "7"}, "MIN_PASSWORD_LENGTH"},
		{"MIN_PASSWORD_LENGTH 129", map[string]string{"MIN_PASSWORD_LENGTH": "129"}, "MIN_PASSWORD_LENGTH"},
		{"PASSWORD_HASH md5", map[string]string{"PASSWORD_HASH": "md5"}, "PASSWORD_HASH"},
		{"PASSWORD_HASH Argon2id", map[string]string{"PASSWORD_HASH": "Argon2id"}, "PASSWORD_HASH"},
		{"REVEAL_UNKNOWN_ACCOUNTS maybe", map[string]string{"REVEAL_UNKNOWN_ACCOUNTS": "maybe"}, "REVEAL_UNKNOWN_ACCOUNTS"},
		{"RESET_URL relative", map[string]string{"RESET_URL": "/relative"}, "RESET_URL"},
		{"RESET_URL ftp", map[string]string{"RESET_URL": "ftp://x"}, "RESET_URL"},
		{"RESET_URL no host", map[string]string{"RESET_URL": "https:///reset"}, "RESET_URL"},
		{"RESET_URL javascript", map[string]string{"RESET_URL": "javascript:alert(1)"}, "RESET_URL"},
		{"RESET_URL missing", map[string]string{"RESET_URL": ""}, "RESET_URL"},
		{"LOGIN_URL relative", map[string]string{"LOGIN_URL": "/login"}, "LOGIN_URL"},
		{"HMAC_KEY missing", map[string]string{"HMAC_KEY": ""}, "HMAC_KEY"},
		{"HMAC_KEY short", map[string]string{"HMAC_KEY": testKey[:32]}, "HMAC_KEY"},
		{"HMAC_KEY 31 bytes", map[string]string{"HMAC_KEY": testKey[:62]}, "HMAC_KEY"},
		{"HMAC_KEY not hex", map[string]string{"HMAC_KEY": "zz" + testKey[2:]}, "HMAC_KEY"},
		{"HMAC_KEY odd length", map[string]string{"HMAC_KEY": testKey + "0"}, "HMAC_KEY"},
		{"MAIL_FROM missing", map[string]string{"MAIL_FROM": ""}, "MAIL_FROM"},
		{"MAIL_FROM blank", map[string]string{"MAIL_FROM": "   "}, "MAIL_FROM"},
		{"TOKENS_TABLE missing", map[string]string{"TOKENS_TABLE": ""}, "TOKENS_TABLE"},
		{"USERS_TABLE missing", map[string]string{"USERS_TABLE": ""}, "USERS_TABLE"},
		{"SESSIONS_TABLE without its index", map[string]string{"SESSIONS_TABLE": "sessions"}, "SESSIONS_ACCOUNT_INDEX"},
		{"SESSIONS_ACCOUNT_INDEX without a table", map[string]string{"SESSIONS_ACCOUNT_INDEX": "by-account"}, "SESSIONS_TABLE"},
		{"SESSIONS_SORT_KEY_ATTRIBUTE the partition key", map[string]string{
			"SESSIONS_TABLE": "sessions", "SESSIONS_ACCOUNT_INDEX": "by-account", "SESSIONS_SORT_KEY_ATTRIBUTE": "session_id",
		}, "SESSIONS_SORT_KEY_ATTRIBUTE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(getenv(with(tt.env)))
			if err == nil {
				t.Fatalf("Load with %q = nil error, want one naming %s", tt.env, tt.variable)
			}
			if !strings.Contains(err.Error(), tt.variable) {
				t.Errorf("Load with %q: got error %q, want it to name %s", tt.env, err, tt.variable)
			}
			if strings.Contains(err.Error(), testKey) {
				t.Errorf("Load with %q: error %q contains the HMAC key", tt.env, err)
			}
		})
	}
}

// TestLoadReportsEveryBadVariable checks that one start reports every
// problem, not just the first.
func TestLoadReportsEveryBadVariable(t *testing.T) {
	env := map[string]string{
		"OTP_LENGTH":              "3",
		"OTP_TTL":                 "ten",
		"MAX_ATTEMPTS":            "0",
		"PASSWORD_HASH":           "md5",
		"REVEAL_UNKNOWN_ACCOUNTS": "maybe",
		"RESET_URL":               "ftp://x",
		"HMAC_KEY":                "",
		"MAIL_FROM":               "",
		"TOKENS_TABLE":            "",
	}
	_, err := config.Load(getenv(with(env)))
	if err == nil {
		t.Fatalf("Load with %q = nil error, want one naming every variable", env)
	}
	for name := range env {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Load with %q: error %q does not name %s", env, err, name)
		}
	}
}

// TestLoadNeverEchoesKey checks that the HMAC key, good or bad, never
// appears in an error, whatever else is wrong.
func TestLoadNeverEchoesKey(t *testing.T) {
	secretish := "5ec2e7" + strings.Repeat("ab", 20) // hex, but too short
	tests := []struct {
		name string
		key  string
	}{
		{"valid key, other errors", testKey},
		{"short hex key", secretish},
		{"non-hex key", "hunter2-is-not-hex-" + testKey},
		{"31-byte key", testKey[:62]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := with(map[string]string{"HMAC_KEY": tt.key, "OTP_LENGTH": "99", "MAIL_FROM": ""})
			_, err := config.Load(getenv(env))
			if err == nil {
				t.Fatalf("Load with HMAC_KEY %d chars and bad OTP_LENGTH = nil error, want one", len(tt.key))
			}
			if strings.Contains(err.Error(), tt.key) {
				t.Errorf("Load: error %q contains HMAC_KEY's value", err)
			}
			// A fragment would leak too: look for any 16-character piece.
			for i := 0; i+16 <= len(tt.key); i += 8 {
				if strings.Contains(err.Error(), tt.key[i:i+16]) {
					t.Errorf("Load: error %q contains part of HMAC_KEY (%d..%d)", err, i, i+16)
					break
				}
			}
		})
	}
}

// TestConfigEmptyOptionalSetting: template.yaml documents
// UsersVerifiedAttribute and UsersEnabledAttribute as "empty means not
// checked", and dynamo.UsersTable documents an empty VerifiedAttribute,
// EnabledAttribute, UsernameIndex ("accounts have no user names") and
// EmailIndex ("EmailAttribute is the table's key") as meaningful. But
// reader.text replaces an empty value with the default from Variables, so
// an empty variable yields "verified", "enabled", "username-index" and
// "email-index": none of the documented "empty" settings can be made, and
// the USERS_EMAIL_INDEX-is-empty check in Load is unreachable.
// TestConfigRefusesNoEmailIndex: the email as the table's key is not
// supported (its lookups would read whole accounts, hashes included), so an
// empty USERS_EMAIL_INDEX stops the start, naming the variable.
func TestConfigRefusesNoEmailIndex(t *testing.T) {
	env := minimal()
	env["USERS_EMAIL_INDEX"] = ""
	env["USERS_KEY_ATTRIBUTE"] = "email"
	_, err := config.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "USERS_EMAIL_INDEX") {
		t.Fatalf("Load with USERS_EMAIL_INDEX empty: got %v, want an error naming it", err)
	}
}

func TestConfigEmptyOptionalSetting(t *testing.T) {
	env := minimal()
	for _, name := range []string{"USERS_VERIFIED_ATTRIBUTE", "USERS_ENABLED_ATTRIBUTE", "USERS_USERNAME_INDEX"} {
		env[name] = "" // as template.yaml passes an empty parameter
	}
	c, err := config.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("Load with the optional users settings empty: %v, want nil", err)
	}
	tests := []struct {
		name, got string
	}{
		{"USERS_VERIFIED_ATTRIBUTE", c.Users.VerifiedAttribute},
		{"USERS_ENABLED_ATTRIBUTE", c.Users.EnabledAttribute},
		{"USERS_USERNAME_INDEX", c.Users.UsernameIndex},
	}
	for _, tt := range tests {
		if tt.got != "" {
			t.Errorf("%s set empty: got %q, want \"\" (documented as \"not checked\"/\"none\")", tt.name, tt.got)
		}
	}
}
