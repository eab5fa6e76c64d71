// Package config reads the service's settings from the environment once,
// at cold start, into a typed Config. A bad value stops the start with one
// message that names the variable; nothing reads the environment later.
package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/passreset/passreset/pkg/captcha"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/language"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/ses"
	"github.com/passreset/passreset/pkg/webhook"
)

// Config is every setting of the service.
type Config struct {
	Reset    reset.Settings
	Password password.Policy
	Mail     ses.Settings

	TokensTable string
	// UsersBackend is where the accounts live: BackendDynamoDB, the Users
	// table; BackendWebhook, a team's hook at WebhookURL; or
	// BackendCognito, the user pool CognitoUserPoolID. With the last two
	// Users is the zero UsersTable (the USERS_* variables are not read).
	UsersBackend string
	Users        dynamo.UsersTable
	// Sessions is the app's sessions table, where a reset deletes the
	// account's sessions; Name is "" when there is none (SESSIONS_TABLE
	// unset), and a reset only bumps session_version.
	Sessions dynamo.SessionsTable

	// WebhookURL is the team's account hook's base URL and WebhookSecrets
	// the Standard Webhooks secrets its calls are signed with (the new one
	// and the old while rotating); both set only with BackendWebhook. A
	// webhook.Secret prints itself redacted.
	WebhookURL     string
	WebhookSecrets []webhook.Secret

	// CognitoUserPoolID is the user pool holding the accounts
	// (eu-west-1_AbC123), set only with BackendCognito.
	CognitoUserPoolID string

	// HMACKeySecretARN names the Secrets Manager secret holding the code
	// key (deployed). Without it, HMACKey and HMACKeyID (local) are used.
	HMACKeySecretARN string
	HMACKey          []byte
	HMACKeyID        string

	// LoginURL is where the reset page sends the user afterwards.
	LoginURL string

	// PwnedCheck asks Have I Been Pwned's range API at PwnedAPIURL about
	// every new password (only a 5-digit hash prefix leaves the function).
	PwnedCheck  bool
	PwnedAPIURL string

	// AllowedOrigins are the browser origins whose pages may call the API,
	// each exactly as a browser sends it in an Origin header
	// (scheme://host[:port], lower-case, no path). API Gateway's CORS
	// configuration lets their scripts read the answers; the functions
	// serve their POST and PUT requests and refuse those of every other
	// origin (see gateway.Options). Empty: no CORS, and only requests
	// without an Origin header or from the API's own origin are served.
	AllowedOrigins []string
	// APIURL is the API's own public base URL ("" when unknown): the reset
	// page it serves posts from its origin.
	APIURL string

	// Captcha is the bot defence of the send routes; its Provider "" is
	// off, the default.
	Captcha Captcha
}

// Captcha is the bot-defence setting: with a provider, every request that
// sends a code or a link needs a token the provider's siteverify API
// accepts (pkg/gateway, captcha.go).
type Captcha struct {
	// Provider is captcha.Turnstile or captcha.HCaptcha; "" is off.
	Provider captcha.Provider
	// SiteKey is the widget's public key, for the reset page.
	SiteKey string
	// Secret is the key siteverify is asked with. Only the functions that
	// send have it (the template gives it them alone), so it is not
	// required here: function.Handler requires it of those. It prints
	// redacted and is never echoed in an error.
	Secret captcha.Secret
	// VerifyURL replaces the provider's siteverify URL, for tests; "" is
	// the provider's own.
	VerifyURL string
}

// The values of USERS_BACKEND.
const (
	BackendDynamoDB = "dynamodb"
	BackendWebhook  = "webhook"
	BackendCognito  = "cognito"
)

// Variables lists every environment variable Load reads, with its default
// ("" for none), for the template test and the README.
var Variables = []struct{ Name, Default string }{
	{"OTP_LENGTH", "6"},
	{"OTP_TTL", "10m"},
	{"LINK_TTL", "60m"},
	{"GRANT_TTL", "5m"},
	{"MAX_ATTEMPTS", "5"},
	{"MAX_SENDS_PER_HOUR", "3"},
	{"MIN_SEND_INTERVAL", "60s"},
	{"IP_LIMIT", "30"},
	{"IP_WINDOW", "5m"},
	{"REVEAL_UNKNOWN_ACCOUNTS", "false"},
	{"MAX_FAILURES_PER_DAY", "20"},
	{"MIN_PASSWORD_LENGTH", "8"},
	{"PASSWORD_HASH", "argon2id"},
	{"RESET_URL", ""},
	{"LOGIN_URL", ""},
	{"MAIL_FROM", ""},
	{"APP_NAME", "passreset"},
	{"MAIL_FROM_NAME", ""},
	{"SUPPORT_EMAIL", ""},
	{"LOGO_URL", ""},
	{"DEFAULT_LANGUAGE", "en"},
	{"MAIL_TEMPLATES_DIR", ""},
	{"SES_CONFIGURATION_SET", ""},
	{"TOKENS_TABLE", ""},
	{"USERS_BACKEND", BackendDynamoDB},
	{"WEBHOOK_URL", ""},
	{"WEBHOOK_SECRET", ""},
	{"COGNITO_USER_POOL_ID", ""},
	{"USERS_TABLE", ""},
	{"USERS_KEY_ATTRIBUTE", "user_id"},
	{"USERS_EMAIL_INDEX", "email-index"},
	{"USERS_USERNAME_INDEX", "username-index"},
	{"USERS_EMAIL_ATTRIBUTE", "email"},
	{"USERS_USERNAME_ATTRIBUTE", "username"},
	{"USERS_PASSWORD_ATTRIBUTE", "password_hash"},
	{"USERS_SESSION_VERSION_ATTRIBUTE", "session_version"},
	{"USERS_PASSWORD_CHANGED_AT_ATTRIBUTE", "password_changed_at"},
	{"USERS_VERIFIED_ATTRIBUTE", "verified"},
	{"USERS_ENABLED_ATTRIBUTE", "enabled"},
	{"USERS_LANGUAGE_ATTRIBUTE", "locale"},
	{"SESSIONS_TABLE", ""},
	{"SESSIONS_ACCOUNT_ATTRIBUTE", "account_id"},
	{"SESSIONS_ACCOUNT_INDEX", ""},
	{"SESSIONS_KEY_ATTRIBUTE", "session_id"},
	{"SESSIONS_SORT_KEY_ATTRIBUTE", ""},
	{"HMAC_KEY_SECRET_ARN", ""},
	{"HMAC_KEY", ""},
	{"HMAC_KEY_ID", "local"},
	{"PWNED_CHECK", "false"},
	{"PWNED_API_URL", password.DefaultPwnedURL},
	{"ALLOWED_ORIGINS", ""},
	{"API_URL", ""},
	{"CAPTCHA_PROVIDER", ""},
	{"CAPTCHA_SITE_KEY", ""},
	{"CAPTCHA_SECRET", ""},
	{"CAPTCHA_VERIFY_URL", ""},
}

// Load reads the configuration through getenv, where an empty value means
// unset. It returns every bad variable at once, each named.
func Load(getenv func(string) string) (Config, error) {
	return LoadEnv(func(name string) (string, bool) {
		v := getenv(name)
		return v, v != ""
	})
}

// LoadEnv reads the configuration through lookup (os.LookupEnv in a main),
// which tells a variable set empty from one unset: an empty
// USERS_EMAIL_INDEX, USERS_USERNAME_INDEX, USERS_VERIFIED_ATTRIBUTE or
// USERS_ENABLED_ATTRIBUTE, USERS_VERIFIED_ATTRIBUTE or
// USERS_LANGUAGE_ATTRIBUTE means "none", as template.yaml passes it.
func LoadEnv(lookup func(string) (string, bool)) (Config, error) {
	r := reader{lookup: lookup}
	var c Config
	c.Reset = reset.Settings{
		OTPLength: r.integer("OTP_LENGTH", 4, 10),
		OTPTTL:    r.duration("OTP_TTL", time.Minute, 24*time.Hour),
		LinkTTL:   r.duration("LINK_TTL", time.Minute, 24*time.Hour),
		// A grant only bridges the two steps of one reset, while the
		// user types a new password: minutes, never a link's hours.
		GrantTTL:              r.duration("GRANT_TTL", time.Minute, 15*time.Minute),
		MaxAttempts:           r.integer("MAX_ATTEMPTS", 1, 100),
		MaxSendsPerHour:       r.integer("MAX_SENDS_PER_HOUR", 1, 1000),
		MinSendInterval:       r.duration("MIN_SEND_INTERVAL", 0, time.Hour),
		IPLimit:               r.integer("IP_LIMIT", 1, 1_000_000),
		IPWindow:              r.duration("IP_WINDOW", time.Second, 24*time.Hour),
		MaxFailuresPerDay:     r.integer("MAX_FAILURES_PER_DAY", 1, 10_000),
		RevealUnknownAccounts: r.boolean("REVEAL_UNKNOWN_ACCOUNTS"),
		ResetURL:              r.url("RESET_URL"),
	}
	c.Password = password.Policy{
		MinLength: r.integer("MIN_PASSWORD_LENGTH", 8, 128),
		MaxLength: 128,
		Algorithm: r.algorithm("PASSWORD_HASH"),
	}
	c.Mail = ses.Settings{
		From:             r.required("MAIL_FROM"),
		SenderName:       r.oneLine("MAIL_FROM_NAME"),
		AppName:          r.oneLine("APP_NAME"),
		SupportAddress:   r.address("SUPPORT_EMAIL"),
		LogoURL:          r.httpsURL("LOGO_URL"),
		ConfigurationSet: r.text("SES_CONFIGURATION_SET"),
		Templates:        r.mailTemplates("MAIL_TEMPLATES_DIR"),
	}
	c.Mail.DefaultLanguage = r.defaultLanguage("DEFAULT_LANGUAGE", c.Mail.Templates)
	c.LoginURL = r.optionalURL("LOGIN_URL")
	c.PwnedCheck = r.boolean("PWNED_CHECK")
	c.PwnedAPIURL = r.optionalURL("PWNED_API_URL")
	c.AllowedOrigins = r.origins("ALLOWED_ORIGINS")
	c.APIURL = r.optionalURL("API_URL")
	c.Captcha = r.captcha()
	c.TokensTable = r.required("TOKENS_TABLE")
	c.UsersBackend = r.backend("USERS_BACKEND")
	switch c.UsersBackend {
	case BackendDynamoDB:
		c.Users = r.usersTable()
		r.unused("WEBHOOK_URL", "is set but USERS_BACKEND is dynamodb: the hook would never be called; unset it or set USERS_BACKEND=webhook")
		r.unused("WEBHOOK_SECRET", "is set but USERS_BACKEND is dynamodb: unset it or set USERS_BACKEND=webhook")
		r.unused("COGNITO_USER_POOL_ID", "is set but USERS_BACKEND is dynamodb: the pool would never be read; unset it or set USERS_BACKEND=cognito")
	case BackendWebhook:
		// The USERS_* variables describe a DynamoDB users table, which
		// this back-end has none of: they are not read, so the template's
		// defaults for them do no harm and need no clearing.
		c.WebhookURL = r.hookURL("WEBHOOK_URL")
		c.WebhookSecrets = r.webhookSecrets("WEBHOOK_SECRET")
		r.unused("COGNITO_USER_POOL_ID", "is set but USERS_BACKEND is webhook: the pool would never be read; unset it or set USERS_BACKEND=cognito")
	case BackendCognito:
		// No users table here either (see BackendWebhook).
		c.CognitoUserPoolID = r.userPoolID("COGNITO_USER_POOL_ID")
		r.unused("WEBHOOK_URL", "is set but USERS_BACKEND is cognito: the hook would never be called; unset it or set USERS_BACKEND=webhook")
		r.unused("WEBHOOK_SECRET", "is set but USERS_BACKEND is cognito: unset it or set USERS_BACKEND=webhook")
	}
	c.Sessions = r.sessions()
	if c.Sessions.Name != "" {
		// The hook's end-sessions call or Cognito's global sign-out ends
		// them; a sessions table as well would be a second, silent place
		// for the same rule.
		switch c.UsersBackend {
		case BackendWebhook:
			r.fail("SESSIONS_TABLE", "is set but USERS_BACKEND is webhook: the hook's end-sessions call ends an account's sessions; unset SESSIONS_TABLE")
		case BackendCognito:
			r.fail("SESSIONS_TABLE", "is set but USERS_BACKEND is cognito: a reset signs the user out everywhere (AdminUserGlobalSignOut); unset SESSIONS_TABLE")
		}
	}
	c.HMACKeySecretARN = r.text("HMAC_KEY_SECRET_ARN")
	c.HMACKeyID = r.text("HMAC_KEY_ID")
	if c.HMACKeySecretARN == "" {
		c.HMACKey = r.hexKey("HMAC_KEY")
	}
	return c, r.err()
}

// usersTable reads the DynamoDB users table of BackendDynamoDB.
func (r *reader) usersTable() dynamo.UsersTable {
	t := dynamo.UsersTable{
		Name:                       r.required("USERS_TABLE"),
		KeyAttribute:               r.required("USERS_KEY_ATTRIBUTE"),
		EmailIndex:                 r.optional("USERS_EMAIL_INDEX"),
		UsernameIndex:              r.optional("USERS_USERNAME_INDEX"),
		EmailAttribute:             r.required("USERS_EMAIL_ATTRIBUTE"),
		UsernameAttribute:          r.text("USERS_USERNAME_ATTRIBUTE"),
		PasswordAttribute:          r.required("USERS_PASSWORD_ATTRIBUTE"),
		SessionVersionAttribute:    r.required("USERS_SESSION_VERSION_ATTRIBUTE"),
		PasswordChangedAtAttribute: r.required("USERS_PASSWORD_CHANGED_AT_ATTRIBUTE"),
		VerifiedAttribute:          r.optional("USERS_VERIFIED_ATTRIBUTE"),
		EnabledAttribute:           r.optional("USERS_ENABLED_ATTRIBUTE"),
		LanguageAttribute:          r.optional("USERS_LANGUAGE_ATTRIBUTE"),
	}
	if t.EmailIndex == "" {
		// The email as the table's key is not supported: a send would
		// have to read the whole account, password hash included, where
		// an index gives it only what a lookup needs.
		r.fail("USERS_EMAIL_INDEX", "is empty: lookups by email need a global secondary index on USERS_EMAIL_ATTRIBUTE")
	}
	return t
}

// backend reads USERS_BACKEND.
func (r *reader) backend(name string) string {
	switch v := r.text(name); v {
	case BackendDynamoDB, BackendWebhook, BackendCognito:
		return v
	default:
		r.fail(name, fmt.Sprintf("is %q; want %s, %s or %s", v, BackendDynamoDB, BackendWebhook, BackendCognito))
		return ""
	}
}

// hookURL reads the hook's base URL, which must be absolute http(s). Unlike
// the other URLs it is not echoed in an error: a team may carry a token in
// its path or query.
func (r *reader) hookURL(name string) string {
	v := r.text(name)
	if v == "" {
		r.fail(name, "is required with USERS_BACKEND=webhook: the hook's base URL, e.g. https://accounts.example.com/passreset")
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.fail(name, "is not an absolute http or https URL (its value is not shown)")
	}
	return v
}

// userPoolID matches a Cognito user pool id as the Cognito API reference
// gives its pattern, [\w-]+_[0-9a-zA-Z]+, at most 55 characters: the
// pool's Region, an underscore, letters and digits (eu-west-1_AbC123).
// cognito-local's ids (local_AbC123) match too.
var userPoolID = regexp.MustCompile(`^[\w-]+_[0-9a-zA-Z]+$`)

// userPoolID reads the user pool id of BackendCognito.
func (r *reader) userPoolID(name string) string {
	v := r.text(name)
	switch {
	case v == "":
		r.fail(name, "is required with USERS_BACKEND=cognito: the user pool's id, e.g. eu-west-1_AbC123")
	case len(v) > 55 || !userPoolID.MatchString(v):
		r.fail(name, fmt.Sprintf("is %q; want a user pool id: its Region, an underscore and letters or digits, e.g. eu-west-1_AbC123", v))
	}
	return v
}

// unused refuses a variable that the chosen back-end would ignore: a
// setting that does nothing is a mistake the team should hear of.
func (r *reader) unused(name, problem string) {
	if r.text(name) != "" {
		r.fail(name, problem)
	}
}

// webhookSecrets reads one or more Standard Webhooks secrets separated by
// spaces: every request carries one signature per secret, so during a
// rotation the hook accepts it with the old secret or the new. Neither the
// value nor any part of it is ever echoed in an error.
func (r *reader) webhookSecrets(name string) []webhook.Secret {
	fields := strings.Fields(r.text(name))
	if len(fields) == 0 {
		r.fail(name, "is required with USERS_BACKEND=webhook: one or more Standard Webhooks secrets (whsec_ and the base64 of 24 to 64 bytes), separated by spaces")
		return nil
	}
	secrets := make([]webhook.Secret, 0, len(fields))
	for i, f := range fields {
		s, err := webhook.ParseSecret(f)
		if err != nil {
			r.fail(name, fmt.Sprintf("has a secret (item %d of %d) that is not whsec_ and the base64 of 24 to 64 bytes; its value is not shown", i+1, len(fields)))
			continue
		}
		secrets = append(secrets, s)
	}
	return secrets
}

// captcha reads the bot-defence setting. Settings without a provider are
// refused: a site key or secret that does nothing is a mistake. Neither
// the secret nor any part of it is ever echoed in an error.
func (r *reader) captcha() Captcha {
	c := Captcha{
		Provider:  captcha.Provider(r.text("CAPTCHA_PROVIDER")),
		SiteKey:   r.text("CAPTCHA_SITE_KEY"),
		Secret:    captcha.NewSecret(r.text("CAPTCHA_SECRET")),
		VerifyURL: r.verifyURL("CAPTCHA_VERIFY_URL"),
	}
	if c.Provider == "" {
		for _, name := range []string{"CAPTCHA_SITE_KEY", "CAPTCHA_SECRET", "CAPTCHA_VERIFY_URL"} {
			r.unused(name, "is set but CAPTCHA_PROVIDER is empty (the bot defence is off): unset it or set CAPTCHA_PROVIDER to turnstile or hcaptcha")
		}
		return Captcha{}
	}
	if !c.Provider.Known() {
		r.fail("CAPTCHA_PROVIDER", fmt.Sprintf("is %q; want turnstile, hcaptcha, or empty for off", c.Provider))
	}
	if c.SiteKey == "" {
		r.fail("CAPTCHA_SITE_KEY", "is required with CAPTCHA_PROVIDER: the widget's public site key, which the reset page carries")
	} else if strings.IndexFunc(c.SiteKey, func(c rune) bool { return c <= ' ' || c > '~' || c == '"' || c == '<' || c == '>' }) >= 0 {
		r.fail("CAPTCHA_SITE_KEY", fmt.Sprintf("is %q; want the provider's site key, printable ASCII without spaces or quotes", c.SiteKey))
	}
	if strings.IndexFunc(r.text("CAPTCHA_SECRET"), unicode.IsSpace) >= 0 {
		r.fail("CAPTCHA_SECRET", "has a space or line break (a secret pasted with its newline?); its value is not shown")
	}
	return c
}

// verifyURL is the siteverify URL a test points the functions at: https,
// or http to a loopback host only (a stand-in on the same machine), since
// the secret travels in the request's body.
func (r *reader) verifyURL(name string) string {
	v := r.optionalURL(name)
	if u, err := url.Parse(v); v != "" && err == nil && u.Scheme == "http" {
		switch u.Hostname() {
		case "127.0.0.1", "::1", "localhost":
		default:
			r.fail(name, fmt.Sprintf("is %q; want https, or http to 127.0.0.1, ::1 or localhost: the secret is sent to it", v))
		}
	}
	return v
}

// reader collects every problem instead of stopping at the first.
type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) fail(name, problem string) {
	r.errs = append(r.errs, fmt.Errorf("%s %s", name, problem))
}

func (r *reader) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(r.errs...))
}

// text is the variable's value, or its default when it is unset or empty.
func (r *reader) text(name string) string {
	if v, _ := r.lookup(name); strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return defaultOf(name)
}

// optional is the variable's value, "" when it is set empty, or its
// default when it is unset.
func (r *reader) optional(name string) string {
	if v, set := r.lookup(name); set {
		return strings.TrimSpace(v)
	}
	return defaultOf(name)
}

func defaultOf(name string) string {
	for _, v := range Variables {
		if v.Name == name {
			return v.Default
		}
	}
	return ""
}

func (r *reader) required(name string) string {
	v := r.text(name)
	if v == "" {
		r.fail(name, "is required")
	}
	return v
}

func (r *reader) integer(name string, lo, hi int) int {
	v := r.text(name)
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, fmt.Sprintf("is %q; want a whole number from %d to %d", v, lo, hi))
	}
	return n
}

func (r *reader) duration(name string, lo, hi time.Duration) time.Duration {
	v := r.text(name)
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		r.fail(name, fmt.Sprintf("is %q; want a duration such as 10m or 60s, from %s to %s", v, lo, hi))
	}
	return d
}

func (r *reader) boolean(name string) bool {
	v := r.text(name)
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, fmt.Sprintf("is %q; want true or false", v))
	}
	return b
}

func (r *reader) algorithm(name string) password.Algorithm {
	switch v := password.Algorithm(r.text(name)); v {
	case password.Argon2id, password.Bcrypt:
		return v
	default:
		r.fail(name, fmt.Sprintf("is %q; want argon2id or bcrypt", v))
		return ""
	}
}

// url requires an absolute http(s) URL: the reset link is built from it
// and nothing else.
func (r *reader) url(name string) string {
	v := r.required(name)
	if v != "" {
		r.checkURL(name, v)
	}
	return v
}

func (r *reader) optionalURL(name string) string {
	v := r.text(name)
	if v != "" {
		r.checkURL(name, v)
	}
	return v
}

func (r *reader) checkURL(name, v string) {
	u, err := url.Parse(strings.ReplaceAll(v, "{token}", "token"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.fail(name, fmt.Sprintf("is %q; want an absolute http or https URL", v))
	}
}

// origins reads a comma-separated list of browser origins. Each must be
// written exactly as a browser sends it in an Origin header, because the
// same text is API Gateway's AllowOrigins, which compares it with the
// header as it comes: "https://app.example.com/" or "https://App.example.com"
// would never match there, so they are refused here, with the form that
// would, rather than quietly normalised for the functions alone. A wildcard
// is refused too: any origin could then have mail sent (docs/contract.md,
// "browsers on other origins").
//
// For the same reason the list is split on commas alone, as the template
// splits it for API Gateway: a space or an empty item beside a comma would
// reach AllowOrigins too, so it is refused rather than trimmed.
func (r *reader) origins(name string) []string {
	value := r.text(name)
	if value == "" {
		return nil
	}
	var list []string
	for _, v := range strings.Split(value, ",") {
		if v == "" || strings.TrimSpace(v) != v {
			r.fail(name, fmt.Sprintf("is %q; want origins separated by commas alone, no spaces or empty items (the template gives API Gateway the list split on commas), e.g. https://app.example.com,http://localhost:5173", value))
			return nil
		}
		if problem := originProblem(v); problem != "" {
			r.fail(name, fmt.Sprintf("has %q: %s", v, problem))
			continue
		}
		list = append(list, v)
	}
	return list
}

// Origin is the origin of an absolute http(s) URL, serialised as a
// browser sends it in an Origin header: scheme and host in lower case, the
// scheme's default port left out.
func Origin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", fmt.Errorf("API URL %q: want an absolute http or https URL", raw)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal
	}
	if port != "" && !(u.Scheme == "https" && port == "443") && !(u.Scheme == "http" && port == "80") {
		host += ":" + port
	}
	return u.Scheme + "://" + host, nil
}

// originProblem says what keeps v from being an origin as a browser
// serialises it (scheme://host[:port]), and how to write it; "" when it is
// one.
func originProblem(v string) string {
	const want = "want scheme://host[:port] as a browser sends it in an Origin header, e.g. https://app.example.com or http://localhost:5173"
	if strings.Contains(v, "*") {
		return "wildcards are not allowed (a page on any origin could have mail sent); list each origin"
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "" {
		return want
	}
	origin := u.Scheme + "://" + u.Host
	fixed, err := Origin(v) // what to suggest writing instead
	if err != nil {
		return want
	}
	switch {
	case u.User != nil:
		return "an origin has no user name or password; " + want
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(v, "#"):
		return fmt.Sprintf("an origin has no path, not even a trailing /; write %q", fixed)
	case strings.ToLower(v) != v:
		return fmt.Sprintf("browsers send origins in lower case; write %q", fixed)
	case v != origin:
		return want
	}
	for _, c := range u.Hostname() {
		if c > unicode.MaxASCII {
			return "browsers send an internationalised host name in its xn-- (punycode) form; write that"
		}
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		switch {
		case err != nil || n < 1 || n > 65535 || p[0] == '0':
			return want
		case fixed != v:
			return fmt.Sprintf("browsers leave out the scheme's default port; write %q", fixed)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return want
	}
	return ""
}

// sessions reads the optional sessions table: the zero SessionsTable
// without SESSIONS_TABLE. An index named without a table is refused: it
// says a sessions table was meant, whose sessions resets would silently
// leave.
func (r *reader) sessions() dynamo.SessionsTable {
	t := dynamo.SessionsTable{
		Name:             r.text("SESSIONS_TABLE"),
		AccountAttribute: r.text("SESSIONS_ACCOUNT_ATTRIBUTE"),
		AccountIndex:     r.text("SESSIONS_ACCOUNT_INDEX"),
		KeyAttribute:     r.text("SESSIONS_KEY_ATTRIBUTE"),
		SortKeyAttribute: r.text("SESSIONS_SORT_KEY_ATTRIBUTE"),
	}
	if t.Name == "" {
		if t.AccountIndex != "" {
			r.fail("SESSIONS_ACCOUNT_INDEX", "is set but SESSIONS_TABLE is empty: name the sessions table too, or neither")
		}
		return dynamo.SessionsTable{}
	}
	if t.AccountAttribute == "" {
		r.fail("SESSIONS_ACCOUNT_ATTRIBUTE", "is required with SESSIONS_TABLE: the attribute holding a session's account id")
	}
	if t.AccountIndex == "" {
		r.fail("SESSIONS_ACCOUNT_INDEX", "is required with SESSIONS_TABLE: a global secondary index keyed on SESSIONS_ACCOUNT_ATTRIBUTE, where a reset finds the account's sessions")
	}
	if t.KeyAttribute == "" {
		r.fail("SESSIONS_KEY_ATTRIBUTE", "is required with SESSIONS_TABLE: the table's partition key, which deleting a session names")
	}
	if t.SortKeyAttribute != "" && t.SortKeyAttribute == t.KeyAttribute {
		r.fail("SESSIONS_SORT_KEY_ATTRIBUTE", fmt.Sprintf("is %q, the same as SESSIONS_KEY_ATTRIBUTE; want the table's sort key, or empty when it has none", t.SortKeyAttribute))
	}
	return t
}

// hexKey reads a hex-encoded key, never echoing it in an error.
func (r *reader) hexKey(name string) []byte {
	v := r.text(name)
	if v == "" {
		r.fail(name, "is required when HMAC_KEY_SECRET_ARN is not set (64 hex digits; e.g. from openssl rand -hex 32)")
		return nil
	}
	k, err := hex.DecodeString(v)
	if err != nil || len(k) < 32 {
		r.fail(name, "must be at least 64 hex digits (32 bytes)")
	}
	return k
}

// oneLine is a text the mails put in a header or a sentence: no line
// break or other control character, which would end a subject line or
// start a header.
func (r *reader) oneLine(name string) string {
	v := r.text(name)
	if strings.IndexFunc(v, unicode.IsControl) >= 0 {
		r.fail(name, "holds a line break or another control character; want one line of text")
	}
	return v
}

// address is an optional bare email address ("help@example.com"): the
// mails write it as it is, so a display name or a comment is refused.
func (r *reader) address(name string) string {
	v := r.text(name)
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Name != "" || a.Address != v {
		r.fail(name, fmt.Sprintf("is %q; want an email address alone, like help@example.com", v))
	}
	return v
}

// dnsHostPort is a host as httpsURL allows it: a DNS name, and a port.
var dnsHostPort = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]+)?$`)

// httpsURL is an optional absolute https URL: an image the mails and the
// page load, which an http URL would make mixed content. Its host must be
// a plain DNS name, with a port or not (dnsHostPort): the page puts it in
// its Content-Security-Policy, where url.Parse's tolerance of ";" or "'"
// in a host would let the value add directives or sources.
func (r *reader) httpsURL(name string) string {
	v := r.text(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || !dnsHostPort.MatchString(u.Host) || u.User != nil {
		r.fail(name, fmt.Sprintf("is %q; want an absolute https URL, like https://example.com/logo.png", v))
	}
	return v
}

// mailTemplates parses the embedded mails with a team's overrides from the
// directory name gives, when it is set: a broken or misplaced template
// stops the cold start here, never a mail at a request.
func (r *reader) mailTemplates(name string) *ses.Templates {
	dir := r.text(name)
	if dir == "" {
		return nil
	}
	t, err := ses.LoadTemplates(os.DirFS(dir))
	if err != nil {
		r.fail(name, fmt.Sprintf("%q: %v", dir, err))
		return nil
	}
	return t
}

// defaultLanguage is the mails' language when neither the account nor the
// request names one there are texts for; it must be one there are texts
// for, embedded or in the override directory.
func (r *reader) defaultLanguage(name string, templates *ses.Templates) string {
	v := r.text(name)
	var langs []string
	if templates != nil {
		langs = templates.Languages()
	} else {
		langs = ses.EmbeddedLanguages()
	}
	match := language.Match(langs, v)
	if match == "" {
		r.fail(name, fmt.Sprintf("is %q; want one of the languages there are mails in: %s", v, strings.Join(langs, ", ")))
	}
	return match
}
