package gateway_test

import (
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
)

// Finding 3: rotating the HMAC key (what passreset keys rotate writes: a new
// code key, the old one under previous, the subject key kept) restarts no
// limit and loses no live code. The service reads the secret from a stand-in
// of Secrets Manager; the clock is stepped past the keyring's refresh.
func TestKeyRotationMidFlow(t *testing.T) {
	t.Parallel()
	rotated := `{"kid": "k2", "key": "the second test key, also thirty-two chars", "previous": {"k1": "` +
		apptest.TestSecretKey + `"}, "subject_key": "` + apptest.TestSecretKey + `"}`
	// The refresh interval is 5 minutes; codes live 10.
	const afterRefresh = 5*time.Minute + time.Second

	t.Run("wrong guesses, rotation, right code", func(t *testing.T) {
		env := apptest.New(t, apptest.Settings{"HMAC_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:hmac", "MAX_ATTEMPTS": "3"})
		a := env.AddAccount(t)
		create := apptest.JSON(map[string]string{"action": "create", "email": a.Email})
		validate := func(otp, pw string) apptest.Response {
			return env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "validate", "email": a.Email, "otp": otp, "new_password": pw}))
		}
		if r := env.Post(t, "/auth/otp", create); r.Status != 200 {
			t.Fatalf("create: %d %s", r.Status, r.Body)
		}
		code := env.LastCode(t, a.Email)
		if r := validate(faultWrongCode(code), "a new and long passphrase"); r.Status != 400 {
			t.Fatalf("wrong guess before the rotation: %d %s", r.Status, r.Body)
		}
		env.Secret.Set(rotated)
		env.Clock.Advance(afterRefresh)
		if r := validate(faultWrongCode(code), "a new and long passphrase"); r.Status != 400 {
			t.Fatalf("wrong guess after the rotation: %d %s", r.Status, r.Body)
		}
		// Two of three attempts are spent, one on each side of the
		// rotation; had the subject moved, the code would be "no code".
		if r := validate(code, "a new and long passphrase"); r.Status != 200 {
			t.Fatalf("right code after the rotation: %d %s", r.Status, r.Body)
		}
		if !env.PasswordIs(t, a.ID, "a new and long passphrase") {
			t.Error("the password did not change")
		}
		// A code issued after the rotation is hashed with k2 and works.
		env.Clock.Advance(time.Minute)
		if r := env.Post(t, "/auth/otp", create); r.Status != 200 {
			t.Fatalf("create after the rotation: %d %s", r.Status, r.Body)
		}
		// The instance did pick the rotation up: the new code is k2's.
		kids := map[string]bool{}
		for _, it := range faultItems(t, env) {
			if kid := faultStr(it, "code_kid"); kid != "" {
				kids[kid] = true
			}
		}
		if !kids["k2"] || kids["k1"] {
			t.Errorf("code key ids stored after the rotation: %v, want only k2", kids)
		}
		if r := validate(env.LastCode(t, a.Email), "another long passphrase"); r.Status != 200 {
			t.Fatalf("code issued under k2: %d %s", r.Status, r.Body)
		}
	})

	t.Run("attempts and failures carry over", func(t *testing.T) {
		env := apptest.New(t, apptest.Settings{"HMAC_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:hmac", "MAX_ATTEMPTS": "2"})
		a := env.AddAccount(t)
		env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "create", "email": a.Email}))
		code := env.LastCode(t, a.Email)
		validate := func(otp string) apptest.Response {
			return env.Post(t, "/auth/otp", apptest.JSON(map[string]string{"action": "validate", "email": a.Email, "otp": otp, "new_password": "a new and long passphrase"}))
		}
		validate(faultWrongCode(code))
		env.Secret.Set(rotated)
		env.Clock.Advance(afterRefresh)
		validate(faultWrongCode(code))
		// The code is dead after two attempts, one before the rotation.
		if r := validate(code); r.Status != 429 {
			t.Fatalf("right code after 2 attempts across the rotation: got %d %s, want 429", r.Status, r.Body)
		}
	})

	t.Run("sends, rotation, more sends", func(t *testing.T) {
		env := apptest.New(t, apptest.Settings{"HMAC_KEY_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:111122223333:secret:hmac", "MIN_SEND_INTERVAL": "0s"})
		a := env.AddAccount(t)
		send := func() apptest.Response {
			return env.Post(t, "/auth/request-reset-password", apptest.JSON(map[string]string{"email": a.Email}))
		}
		for i := range 2 {
			if r := send(); r.Status != 200 {
				t.Fatalf("send %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		env.Secret.Set(rotated)
		env.Clock.Advance(afterRefresh)
		if r := send(); r.Status != 200 {
			t.Fatalf("3rd send, after the rotation: %d %s", r.Status, r.Body)
		}
		r := send()
		if r.Status != 429 {
			t.Fatalf("4th send in the hour, after the rotation: got %d %s, want 429", r.Status, r.Body)
		}
		// The first send leaves the hour at t0+1h: 1h - 5m1s from now.
		if got, want := r.Headers["Retry-After"], "3299"; got != want {
			t.Errorf("Retry-After: got %s, want %s", got, want)
		}
		if got := len(env.MailsTo(t, a.Email)); got != 3 {
			t.Errorf("mails: got %d, want 3", got)
		}
	})
}
