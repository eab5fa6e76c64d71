package function

import (
	"testing"

	"github.com/passreset/passreset/pkg/cognito"
	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/webhook"
)

// TestWebhookBackendWiring: with USERS_BACKEND=webhook the hook is the
// directory, sets the passwords and ends the sessions, and building the
// service calls nothing: the hook URL here answers no one.
func TestWebhookBackendWiring(t *testing.T) {
	cfg, err := config.Load(func(name string) string {
		return map[string]string{
			"MAIL_FROM": "no-reply@example.test", "TOKENS_TABLE": "tokens",
			"RESET_URL":      "https://app.example.test/reset/{token}",
			"HMAC_KEY":       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			"USERS_BACKEND":  "webhook",
			"WEBHOOK_URL":    "http://127.0.0.1:1/passreset",
			"WEBHOOK_SECRET": "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY",
		}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	deps, store, err := depsOf(cfg, ClientsAt(LocalConfig(), Endpoints{}), noKeys{}, nil, nil)
	if err != nil {
		t.Fatalf("depsOf: %v", err)
	}
	if _, ok := deps.Accounts.(*webhook.Directory); !ok {
		t.Errorf("Accounts is %T, want *webhook.Directory", deps.Accounts)
	}
	if _, ok := deps.Passwords.(*webhook.Directory); !ok {
		t.Errorf("Passwords is %T, want *webhook.Directory (two-phase completion)", deps.Passwords)
	}
	if _, ok := deps.Sessions.(*webhook.Directory); !ok {
		t.Errorf("Sessions is %T, want *webhook.Directory", deps.Sessions)
	}
	if deps.Store != store || store == nil {
		t.Errorf("Store is %T, want the DynamoDB store", deps.Store)
	}
}

// TestCognitoBackendWiring: with USERS_BACKEND=cognito the user pool is
// the directory, sets the passwords and ends the sessions, and building
// the service calls nothing: the endpoint here answers no one.
func TestCognitoBackendWiring(t *testing.T) {
	cfg, err := config.Load(func(name string) string {
		return map[string]string{
			"MAIL_FROM": "no-reply@example.test", "TOKENS_TABLE": "tokens",
			"RESET_URL":            "https://app.example.test/reset/{token}",
			"HMAC_KEY":             "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
			"USERS_BACKEND":        "cognito",
			"COGNITO_USER_POOL_ID": "eu-west-1_AbC123",
		}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	deps, store, err := depsOf(cfg, ClientsAt(LocalConfig(), Endpoints{Cognito: "http://127.0.0.1:1"}), noKeys{}, nil, nil)
	if err != nil {
		t.Fatalf("depsOf: %v", err)
	}
	if _, ok := deps.Accounts.(*cognito.Directory); !ok {
		t.Errorf("Accounts is %T, want *cognito.Directory", deps.Accounts)
	}
	if _, ok := deps.Passwords.(*cognito.Directory); !ok {
		t.Errorf("Passwords is %T, want *cognito.Directory (two-phase completion)", deps.Passwords)
	}
	if _, ok := deps.Sessions.(*cognito.Directory); !ok {
		t.Errorf("Sessions is %T, want *cognito.Directory (global sign-out)", deps.Sessions)
	}
	if deps.Store != store || store == nil {
		t.Errorf("Store is %T, want the DynamoDB store", deps.Store)
	}
}

// TestEnvAWSCognitoEndpoint: the Cognito client goes where
// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER says, as the SDK's own
// configuration would send it.
func TestEnvAWSCognitoEndpoint(t *testing.T) {
	_, at, err := envAWS(func(name string) (string, bool) {
		v, ok := map[string]string{
			"AWS_REGION": "eu-west-1",
			"AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": "http://127.0.0.1:9229",
		}[name]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if at.Cognito != "http://127.0.0.1:9229" {
		t.Errorf("Endpoints.Cognito = %q, want AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER's value", at.Cognito)
	}
}
