package config_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/config"
)

// Two valid Standard Webhooks secrets (24 and 32 bytes of key); no error
// or print may repeat either.
const (
	hookSecret    = "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
	hookSecretOld = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
)

// webhookEnv is minimal() on the webhook back-end, with no users table.
func webhookEnv(vars map[string]string) map[string]string {
	env := with(map[string]string{
		"USERS_TABLE":    "",
		"USERS_BACKEND":  "webhook",
		"WEBHOOK_URL":    "https://accounts.example.test/passreset?token=hidden-t0ken",
		"WEBHOOK_SECRET": hookSecret + " " + hookSecretOld,
	})
	for k, v := range vars {
		if v == "" {
			delete(env, k)
			continue
		}
		env[k] = v
	}
	return env
}

func TestLoadWebhook(t *testing.T) {
	c, err := config.Load(getenv(webhookEnv(nil)))
	if err != nil {
		t.Fatalf("Load(webhook env) = %v, want nil", err)
	}
	if c.UsersBackend != config.BackendWebhook {
		t.Errorf("UsersBackend = %q, want %q", c.UsersBackend, config.BackendWebhook)
	}
	if c.WebhookURL != "https://accounts.example.test/passreset?token=hidden-t0ken" {
		t.Errorf("WebhookURL = %q, want WEBHOOK_URL as given", c.WebhookURL)
	}
	if len(c.WebhookSecrets) != 2 {
		t.Errorf("WebhookSecrets: got %d, want 2, one per space-separated secret", len(c.WebhookSecrets))
	}
	// The USERS_* variables describe a DynamoDB table the back-end has none of.
	if c.Users.Name != "" {
		t.Errorf("Users.Name = %q, want none with the webhook back-end", c.Users.Name)
	}
	for _, format := range []string{"%v", "%+v", "%#v"} {
		printed := fmt.Sprintf(format, c)
		for _, s := range []string{hookSecret, hookSecretOld, strings.TrimPrefix(hookSecret, "whsec_")} {
			if strings.Contains(printed, s) {
				t.Errorf("Sprintf(%q, cfg) shows a webhook secret", format)
			}
		}
	}
}

func TestLoadDynamoDBIsTheDefault(t *testing.T) {
	c, err := config.Load(getenv(minimal()))
	if err != nil {
		t.Fatal(err)
	}
	if c.UsersBackend != config.BackendDynamoDB || c.WebhookURL != "" || c.WebhookSecrets != nil {
		t.Errorf("got backend %q, URL %q, %d secrets; want dynamodb and no hook", c.UsersBackend, c.WebhookURL, len(c.WebhookSecrets))
	}
}

func TestLoadWebhookBadValue(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // a substring of the error
	}{
		{"unknown backend", with(map[string]string{"USERS_BACKEND": "ldap"}), `USERS_BACKEND is "ldap"; want dynamodb, webhook or cognito`},
		{"no URL", webhookEnv(map[string]string{"WEBHOOK_URL": ""}), "WEBHOOK_URL is required with USERS_BACKEND=webhook"},
		{"relative URL", webhookEnv(map[string]string{"WEBHOOK_URL": "accounts.example.test/hidden-t0ken"}), "WEBHOOK_URL is not an absolute http or https URL"},
		{"no secret", webhookEnv(map[string]string{"WEBHOOK_SECRET": ""}), "WEBHOOK_SECRET is required with USERS_BACKEND=webhook"},
		{"secret without prefix", webhookEnv(map[string]string{"WEBHOOK_SECRET": strings.TrimPrefix(hookSecret, "whsec_")}), "WEBHOOK_SECRET has a secret (item 1 of 1)"},
		{"second secret too short", webhookEnv(map[string]string{"WEBHOOK_SECRET": hookSecret + " whsec_QUJD"}), "WEBHOOK_SECRET has a secret (item 2 of 2)"},
		{"sessions table too", webhookEnv(map[string]string{"SESSIONS_TABLE": "sessions", "SESSIONS_ACCOUNT_INDEX": "by-account"}), "SESSIONS_TABLE is set but USERS_BACKEND is webhook"},
		{"hook URL with dynamodb", with(map[string]string{"WEBHOOK_URL": "https://accounts.example.test/"}), "WEBHOOK_URL is set but USERS_BACKEND is dynamodb"},
		{"hook secret with dynamodb", with(map[string]string{"WEBHOOK_SECRET": hookSecret}), "WEBHOOK_SECRET is set but USERS_BACKEND is dynamodb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(getenv(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			for _, s := range []string{hookSecret, strings.TrimPrefix(hookSecret, "whsec_"), "whsec_QUJD", "hidden-t0ken"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q repeats a secret or the hook URL", err)
				}
			}
		})
	}
}
