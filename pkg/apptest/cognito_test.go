package apptest

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/passreset/passreset/pkg/function"
)

// TestCognitoStandInSignOut: the stand-in signs a user out in its Env's
// pool only; another pool is Cognito's ResourceNotFoundException and ends
// no session. The sign-out never reaches the emulator, so none is needed.
func TestCognitoStandInSignOut(t *testing.T) {
	s := newCognitoStandIn("http://127.0.0.1:9", "local_Env")
	t.Cleanup(s.srv.Close)
	client := cip.NewFromConfig(function.LocalConfig(), func(o *cip.Options) { o.BaseEndpoint = aws.String(s.srv.URL) })
	s.addSessions("ada", 2)

	_, err := client.AdminUserGlobalSignOut(t.Context(), &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String("local_Other"), Username: aws.String("ada")})
	if _, ok := errors.AsType[*types.ResourceNotFoundException](err); !ok {
		t.Errorf("sign-out in another pool: %v, want ResourceNotFoundException", err)
	}
	if n := s.sessionsOf("ada"); n != 2 {
		t.Errorf("after a sign-out in another pool: %d sessions, want 2", n)
	}

	if _, err := client.AdminUserGlobalSignOut(t.Context(), &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String("local_Env"), Username: aws.String("ada")}); err != nil {
		t.Fatalf("sign-out in the Env's pool: %v", err)
	}
	if n := s.sessionsOf("ada"); n != 0 {
		t.Errorf("after the sign-out: %d sessions, want 0", n)
	}
}
