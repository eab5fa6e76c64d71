package function

import (
	"testing"

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
