package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
)

var cognitoLine = regexp.MustCompile(`(?m)^\s*Cognito:\s+(\S+)\s+\(user pool (\S+) on cognito-local`)

// TestDevCognito runs "passreset dev" with USERS_BACKEND=cognito, a stack
// of its own: the demo user is in a user pool on cognito-local, and a code
// mailed to it resets its Cognito password, which then signs in.
func TestDevCognito(t *testing.T) {
	out := &apptest.LogBuffer{}
	cmd := exec.Command(bin, "dev", "--port", "0", "--ses-port", "0", "--dynamodb-port", "0", "--state-dir", t.TempDir())
	cmd.Env = append(cleanEnv(), "USERS_BACKEND=cognito")
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	})

	var api, ses, endpoint, poolID string
	deadline := time.After(90 * time.Second)
	for api == "" || ses == "" || endpoint == "" {
		for _, m := range urlLine.FindAllStringSubmatch(out.String(), -1) {
			switch m[1] {
			case "API":
				api = m[2]
			case "Mail viewer":
				ses = m[2]
			}
		}
		if m := cognitoLine.FindStringSubmatch(out.String()); m != nil {
			endpoint, poolID = m[1], m[2]
		}
		select {
		case err := <-exited:
			stopped = true
			if os.Getenv(emulator.EnvSkipIntegration) == "1" && os.Getenv("CI") != "true" {
				t.Skipf("passreset dev USERS_BACKEND=cognito did not start (%s=1): %v\n%s", emulator.EnvSkipIntegration, err, out)
			}
			t.Fatalf("passreset dev USERS_BACKEND=cognito exited (%v) before it was ready:\n%s", err, out)
		case <-deadline:
			t.Fatalf("passreset dev USERS_BACKEND=cognito not ready within 90s:\n%s", out)
		case <-time.After(50 * time.Millisecond):
		}
	}

	post := func(path string, body map[string]string) int {
		t.Helper()
		b, _ := json.Marshal(body)
		resp, err := http.Post(api+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const email, newPassword = "demo@example.com", "a fresh demo passphrase 9"
	if got := post("/auth/otp", map[string]string{"action": "create", "email": email}); got != 200 {
		t.Fatalf("request a code: %d, want 200\n%s", got, out)
	}
	code := mailIn(t, ses, email, regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`))
	if got := post("/auth/otp", map[string]string{"action": "validate", "email": email, "otp": code, "new_password": newPassword}); got != 200 {
		t.Fatalf("reset with the code: %d, want 200\n%s", got, out)
	}

	// The pool's own sign-in is the proof: the new password works, the
	// demo one no longer does.
	admin := cip.NewFromConfig(function.LocalConfig(), func(o *cip.Options) { o.BaseEndpoint = aws.String(endpoint) })
	client, err := admin.CreateUserPoolClient(t.Context(), &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(poolID), ClientName: aws.String("test"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
	})
	if err != nil {
		t.Fatalf("CreateUserPoolClient: %v", err)
	}
	signsIn := func(pw string) bool {
		_, err := admin.AdminInitiateAuth(t.Context(), &cip.AdminInitiateAuthInput{
			UserPoolId: aws.String(poolID), ClientId: client.UserPoolClient.ClientId,
			AuthFlow:       types.AuthFlowTypeAdminUserPasswordAuth,
			AuthParameters: map[string]string{"USERNAME": "demo", "PASSWORD": pw},
		})
		var api smithy.APIError
		if err != nil && !errors.As(err, &api) {
			t.Fatalf("AdminInitiateAuth: %v", err)
		}
		return err == nil
	}
	if !signsIn(newPassword) {
		t.Error("the demo user does not sign in with the new password")
	}
	if signsIn("demo-password-1") {
		t.Error("the demo user still signs in with the demo password")
	}

	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("exit after SIGINT: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("still running 30s after SIGINT")
	}
}

// mailIn finds re in the newest mail to addr in the SES emulator at ses.
func mailIn(t *testing.T, ses, addr string, re *regexp.Regexp) string {
	t.Helper()
	stack := &emulator.Stack{SESEndpoint: ses}
	for range 50 {
		mails, err := stack.Mails(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i := len(mails) - 1; i >= 0; i-- {
			if len(mails[i].To) == 1 && mails[i].To[0] == addr {
				if m := re.FindStringSubmatch(mails[i].Text); m != nil {
					return m[1]
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no mail to %s matching %s in %s/store", addr, re, ses)
	return ""
}
