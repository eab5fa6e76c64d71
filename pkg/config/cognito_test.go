package config_test

import (
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/config"
)

// cognitoEnv is minimal() on the Cognito back-end, with no users table.
func cognitoEnv(vars map[string]string) map[string]string {
	env := with(map[string]string{
		"USERS_TABLE":          "",
		"USERS_BACKEND":        "cognito",
		"COGNITO_USER_POOL_ID": "eu-west-1_AbC123",
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

func TestLoadCognito(t *testing.T) {
	for _, id := range []string{"eu-west-1_AbC123", "us-gov-west-1_x9", "local_5Hk2pQzB"} {
		c, err := config.Load(getenv(cognitoEnv(map[string]string{"COGNITO_USER_POOL_ID": id})))
		if err != nil {
			t.Fatalf("Load(cognito env, pool %s) = %v, want nil", id, err)
		}
		if c.UsersBackend != config.BackendCognito || c.CognitoUserPoolID != id {
			t.Errorf("got backend %q, pool %q; want cognito, %q", c.UsersBackend, c.CognitoUserPoolID, id)
		}
		// The USERS_* variables describe a DynamoDB table the back-end has none of.
		if c.Users.Name != "" || c.WebhookURL != "" {
			t.Errorf("Users.Name = %q, WebhookURL = %q; want neither with the Cognito back-end", c.Users.Name, c.WebhookURL)
		}
	}
}

func TestLoadCognitoBadValue(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // a substring of the error
	}{
		{"unknown backend", with(map[string]string{"USERS_BACKEND": "ldap"}), `USERS_BACKEND is "ldap"; want dynamodb, webhook or cognito`},
		{"no pool", cognitoEnv(map[string]string{"COGNITO_USER_POOL_ID": ""}), "COGNITO_USER_POOL_ID is required with USERS_BACKEND=cognito"},
		{"pool ARN, not id", cognitoEnv(map[string]string{"COGNITO_USER_POOL_ID": "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123"}), "COGNITO_USER_POOL_ID is \"arn:aws"},
		{"no underscore", cognitoEnv(map[string]string{"COGNITO_USER_POOL_ID": "AbC123"}), "want a user pool id"},
		{"space", cognitoEnv(map[string]string{"COGNITO_USER_POOL_ID": "eu-west-1_AbC 123"}), "want a user pool id"},
		{"too long", cognitoEnv(map[string]string{"COGNITO_USER_POOL_ID": "eu-west-1_" + strings.Repeat("a", 50)}), "want a user pool id"},
		{"sessions table too", cognitoEnv(map[string]string{"SESSIONS_TABLE": "sessions", "SESSIONS_ACCOUNT_INDEX": "by-account"}), "SESSIONS_TABLE is set but USERS_BACKEND is cognito"},
		{"hook URL with cognito", cognitoEnv(map[string]string{"WEBHOOK_URL": "https://accounts.example.test/"}), "WEBHOOK_URL is set but USERS_BACKEND is cognito"},
		{"hook secret with cognito", cognitoEnv(map[string]string{"WEBHOOK_SECRET": hookSecret}), "WEBHOOK_SECRET is set but USERS_BACKEND is cognito"},
		{"pool with dynamodb", with(map[string]string{"COGNITO_USER_POOL_ID": "eu-west-1_AbC123"}), "COGNITO_USER_POOL_ID is set but USERS_BACKEND is dynamodb"},
		{"pool with webhook", webhookEnv(map[string]string{"COGNITO_USER_POOL_ID": "eu-west-1_AbC123"}), "COGNITO_USER_POOL_ID is set but USERS_BACKEND is webhook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(getenv(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), hookSecret) {
				t.Errorf("error %q repeats the webhook secret", err)
			}
		})
	}
}
