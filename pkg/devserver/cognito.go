package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
)

// userPool is the dev stack's Cognito back-end (USERS_BACKEND=cognito):
// cognito-local with a user pool holding the demo user, behind a stand-in
// that answers the one call the emulator lacks.
type userPool struct {
	emu      *emulator.Cognito
	server   *http.Server
	endpoint string // the stand-in's: where the service's client goes
	id       string
}

// startUserPool starts cognito-local and the stand-in in front of it,
// creates a pool and the demo user in it.
func startUserPool(ctx context.Context) (_ *userPool, err error) {
	emu, err := emulator.StartCognito(ctx)
	if err != nil {
		return nil, err
	}
	p := &userPool{emu: emu}
	defer func() {
		if err != nil {
			p.Close()
		}
	}()
	admin := cip.NewFromConfig(function.LocalConfig(), func(o *cip.Options) { o.BaseEndpoint = aws.String(emu.Endpoint) })
	pool, err := admin.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("passreset-dev")})
	if err != nil {
		return nil, fmt.Errorf("CreateUserPool: %w", err)
	}
	p.id = aws.ToString(pool.UserPool.Id)
	if _, err := admin.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId: aws.String(p.id),
		Username:   aws.String(DemoUsername),
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(DemoEmail)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
		TemporaryPassword: aws.String(DemoPassword + "-temporary"),
		MessageAction:     types.MessageActionTypeSuppress,
	}); err != nil {
		return nil, fmt.Errorf("AdminCreateUser: %w", err)
	}
	// A permanent password makes the demo user CONFIRMED, as one who
	// signed up and signed in.
	if _, err := admin.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(p.id), Username: aws.String(DemoUsername), Password: aws.String(DemoPassword), Permanent: true,
	}); err != nil {
		return nil, fmt.Errorf("AdminSetUserPassword: %w", err)
	}

	// The stand-in, once the pool it signs out in is known.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("cognito-local stand-in: %w", err)
	}
	target, err := url.Parse(emu.Endpoint)
	if err != nil {
		ln.Close()
		return nil, err
	}
	p.server = &http.Server{Handler: signOutStandIn(httputil.NewSingleHostReverseProxy(target), p.id), ReadHeaderTimeout: 10 * time.Second}
	go p.server.Serve(ln) //nolint:errcheck // Close ends it
	p.endpoint = "http://" + ln.Addr().String()
	return p, nil
}

// signOutStandIn answers AdminUserGlobalSignOut, which cognito-local does
// not implement, as Cognito does for a user it has (an empty object) in
// poolID, and for another pool as Cognito does for a pool it does not have;
// it passes every other call on: a reset on the dev stack then ends with
// the sign-out it makes in AWS instead of a logged failure.
func signOutStandIn(next http.Handler, poolID string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".AdminUserGlobalSignOut") {
			var body struct{ UserPoolId string }
			err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			if err != nil || body.UserPoolId != poolID {
				msg, _ := json.Marshal("User pool " + body.UserPoolId + " does not exist.")
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprintf(w, `{"__type":"ResourceNotFoundException","message":%s}`, msg)
				return
			}
			io.WriteString(w, `{}`) //nolint:errcheck // the status is sent
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Close stops the stand-in and cognito-local; the pool is gone with it.
func (p *userPool) Close() error {
	var errs []error
	if p.server != nil {
		errs = append(errs, p.server.Close())
	}
	errs = append(errs, p.emu.Stop())
	return errors.Join(errs...)
}

// withUserPool is getenv with the dev pool's id as COGNITO_USER_POOL_ID.
func withUserPool(getenv func(string) string, poolID string) func(string) string {
	if poolID == "" {
		return getenv
	}
	return func(name string) string {
		if name == "COGNITO_USER_POOL_ID" {
			return poolID
		}
		return getenv(name)
	}
}

// usesCognito reports whether the user asked for the Cognito back-end.
func usesCognito(getenv func(string) string) bool {
	return getenv("USERS_BACKEND") == config.BackendCognito
}
