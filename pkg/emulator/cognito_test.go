package emulator

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

func TestCognito(t *testing.T) {
	c, err := StartCognito(t.Context())
	if err != nil {
		// As RunCognito: only outside CI, and only when asked, may a
		// missing cognito-local skip.
		if !inCI() && os.Getenv(EnvSkipIntegration) == "1" {
			t.Skip(err)
		}
		t.Fatalf("StartCognito: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	ctx := t.Context()
	client := cip.New(cip.Options{
		Region:       "us-east-1",
		Credentials:  localCredentials,
		BaseEndpoint: aws.String(c.Endpoint),
	})
	pool, err := client.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("emulator-test")})
	if err != nil {
		t.Fatalf("CreateUserPool: %v", err)
	}
	// A plain user name: cognito-local's own default would refuse it
	// ("Username should be an email"); cognitoConfig makes its pools
	// start as AWS's do.
	if _, err := client.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:    pool.UserPool.Id,
		Username:      aws.String("ada"),
		MessageAction: types.MessageActionTypeSuppress,
	}); err != nil {
		t.Fatalf("AdminCreateUser with a plain user name: %v", err)
	}
	got, err := client.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: pool.UserPool.Id, Username: aws.String("ada")})
	if err != nil {
		t.Fatalf("AdminGetUser: %v", err)
	}
	if aws.ToString(got.Username) != "ada" {
		t.Errorf("AdminGetUser Username = %q, want ada", aws.ToString(got.Username))
	}

	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory %s after Stop: %v, want it gone", c.dir, err)
	}
	if cognitoReady(context.Background(), c.Endpoint) {
		t.Errorf("cognito-local still answers on %s after Stop", c.Endpoint)
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
