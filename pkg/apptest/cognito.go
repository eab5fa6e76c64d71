package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/reset"
)

// The Cognito back-end (EnvUsersBackend=cognito): the accounts are users
// of a user pool of each Env's own on cognito-local, which the service
// reaches through a stand-in (cognitoStandIn) that answers the one call
// the emulator lacks, AdminUserGlobalSignOut, and records what it is sent.
//
// What differs from the other back-ends, and how the Env keeps the tests'
// view the same:
//
//   - An account's Cognito user name is its user name (or its id when it
//     has none): AdminGetUser finds users by user name only, and
//     cognito-local knows no preferred_username alias. That is the id the
//     service knows it by, which AddAccount and PutAccount return; the Env
//     also maps the id a test chose to it.
//   - Cognito shows no password hash: PasswordIs signs in
//     (ADMIN_USER_PASSWORD_AUTH through an app client of the pool), and
//     Stored's PasswordHash is "".
//   - Cognito's version is a last-modified stamp, not a count: Stored's
//     SessionVersion is the number of password changes Cognito accepted
//     for the user (the service's AdminSetUserPassword calls that the
//     stand-in saw succeed, and ChangePasswordElsewhere's), so the tests'
//     "the version moved once" reads the same as on the other back-ends.
//   - Cognito holds sessions itself: AddSessions records n sessions, and
//     a global sign-out of the user that reaches the stand-in ends them.

// cognitoUsers is an Env's user pool on cognito-local. Its admin client
// talks to the emulator directly and is not the service's, so arranging
// and checking a test makes none of the calls Calls counts.
type cognitoUsers struct {
	admin    *cip.Client
	poolID   string
	clientID string // an app client allowing ADMIN_USER_PASSWORD_AUTH
	standIn  *cognitoStandIn

	mu    sync.Mutex
	names map[string]string // test's account id -> Cognito user name
}

// startCognito creates e's user pool and its stand-in and returns the
// users and the settings and endpoint that point the service at them.
func (e *Env) startCognito(t testing.TB) (*cognitoUsers, Settings, string) {
	t.Helper()
	emu := emulator.NeedCognito(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := cip.NewFromConfig(function.LocalConfig(), func(o *cip.Options) { o.BaseEndpoint = aws.String(emu.Endpoint) })
	pool, err := admin.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("apptest-" + randomHex(4))})
	if err != nil {
		t.Fatalf("apptest: CreateUserPool: %v", err)
	}
	poolID := aws.ToString(pool.UserPool.Id)
	client, err := admin.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId:        aws.String(poolID),
		ClientName:        aws.String("apptest"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
	})
	if err != nil {
		t.Fatalf("apptest: CreateUserPoolClient: %v", err)
	}
	s := newCognitoStandIn(emu.Endpoint, poolID)
	t.Cleanup(s.srv.Close)
	u := &cognitoUsers{
		admin: admin, poolID: poolID, clientID: aws.ToString(client.UserPoolClient.ClientId),
		standIn: s, names: map[string]string{},
	}
	return u, Settings{"USERS_BACKEND": BackendCognito, "COGNITO_USER_POOL_ID": poolID}, s.srv.URL
}

// name is the Cognito user name of the test's account id.
func (c *cognitoUsers) name(id string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n, ok := c.names[id]; ok {
		return n
	}
	return id
}

func (c *cognitoUsers) add(ctx context.Context, a dynamo.NewAccount, plain string) (string, error) {
	name := a.Username
	if name == "" {
		name = a.ID
	}
	if plain == "" {
		// The test chose a hash, which Cognito cannot take: a password
		// no one knows.
		plain = "unknown-" + randomHex(12)
	}
	verified := "false"
	if a.Verified {
		verified = "true"
	}
	attrs := []types.AttributeType{
		{Name: aws.String("email"), Value: aws.String(a.Email)},
		{Name: aws.String("email_verified"), Value: aws.String(verified)},
	}
	if a.Language != "" {
		// The standard attribute the service reads the mails' language from.
		attrs = append(attrs, types.AttributeType{Name: aws.String("locale"), Value: aws.String(a.Language)})
	}
	if _, err := c.admin.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
		UserPoolId:        aws.String(c.poolID),
		Username:          aws.String(name),
		UserAttributes:    attrs,
		TemporaryPassword: aws.String("temporary-" + randomHex(8)),
		MessageAction:     types.MessageActionTypeSuppress,
	}); err != nil {
		return "", fmt.Errorf("AdminCreateUser: %w", err)
	}
	// A permanent password makes the user CONFIRMED, as one who signed
	// up and signed in.
	if _, err := c.admin.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(c.poolID), Username: aws.String(name), Password: aws.String(plain), Permanent: true,
	}); err != nil {
		return "", fmt.Errorf("AdminSetUserPassword: %w", err)
	}
	if !a.Enabled {
		if _, err := c.admin.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(c.poolID), Username: aws.String(name)}); err != nil {
			return "", fmt.Errorf("AdminDisableUser: %w", err)
		}
	}
	c.mu.Lock()
	c.names[a.ID] = name
	c.mu.Unlock()
	// Step past the second the user was made in, so that the service's
	// first change to it moves cognito-local's whole-second stamp, as it
	// would move Cognito's finer one.
	if err := c.nextStamp(ctx, name); err != nil {
		return "", err
	}
	return name, nil
}

// get reads the user behind the test's id.
func (c *cognitoUsers) get(ctx context.Context, id string) (*cip.AdminGetUserOutput, error) {
	out, err := c.admin.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(c.poolID), Username: aws.String(c.name(id))})
	if _, ok := errors.AsType[*types.UserNotFoundException](err); ok {
		return nil, reset.ErrUnknownAccount
	}
	return out, err
}

func (c *cognitoUsers) byID(ctx context.Context, id string) (reset.Account, error) {
	out, err := c.get(ctx, id)
	if err != nil {
		return reset.Account{}, err
	}
	attr := func(name string) string {
		for _, a := range out.UserAttributes {
			if aws.ToString(a.Name) == name {
				return aws.ToString(a.Value)
			}
		}
		return ""
	}
	return reset.Account{
		ID:             id,
		Email:          attr("email"),
		Username:       aws.ToString(out.Username),
		Language:       attr("locale"),
		SessionVersion: int64(c.standIn.passwordSets(aws.ToString(out.Username))),
		Active: out.Enabled && attr("email_verified") == "true" &&
			(out.UserStatus == types.UserStatusTypeConfirmed || out.UserStatus == types.UserStatusTypeResetRequired),
	}, nil
}

func (c *cognitoUsers) passwordIs(ctx context.Context, id, pw string) (bool, error) {
	_, err := c.admin.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
		UserPoolId:     aws.String(c.poolID),
		ClientId:       aws.String(c.clientID),
		AuthFlow:       types.AuthFlowTypeAdminUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": c.name(id), "PASSWORD": pw},
	})
	var api smithy.APIError
	switch {
	case err == nil:
		return true, nil
	// Cognito says NotAuthorizedException for a wrong password;
	// cognito-local says InvalidPasswordException.
	case errors.As(err, &api) && (api.ErrorCode() == "NotAuthorizedException" || api.ErrorCode() == "InvalidPasswordException"):
		return false, nil
	default:
		return false, err
	}
}

// nextStamp waits until cognito-local's stamp of the user can move:
// it keeps UserLastModifiedDate to the whole second, so a change in the
// second of the last one would leave the version the service compares
// unchanged, which on Cognito (milliseconds) would not happen.
func (c *cognitoUsers) nextStamp(ctx context.Context, id string) error {
	out, err := c.get(ctx, id)
	if err != nil {
		return err
	}
	if out.UserLastModifiedDate == nil {
		return errors.New("user has no UserLastModifiedDate")
	}
	wait := time.Until(out.UserLastModifiedDate.Truncate(time.Second).Add(time.Second))
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *cognitoUsers) setPassword(ctx context.Context, id, plain, _ string, _ time.Time) error {
	if err := c.nextStamp(ctx, id); err != nil {
		return err
	}
	name := c.name(id)
	if _, err := c.admin.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
		UserPoolId: aws.String(c.poolID), Username: aws.String(name), Password: aws.String(plain), Permanent: true,
	}); err != nil {
		return err
	}
	c.standIn.countPasswordSet(name)
	return nil
}

func (c *cognitoUsers) setEmail(ctx context.Context, id, email string) error {
	if err := c.nextStamp(ctx, id); err != nil {
		return err
	}
	// Verified, as the app would leave an address its user proved:
	// cognito-local marks a changed email unverified unless told.
	_, err := c.admin.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{
		UserPoolId: aws.String(c.poolID), Username: aws.String(c.name(id)),
		UserAttributes: []types.AttributeType{
			{Name: aws.String("email"), Value: aws.String(email)},
			{Name: aws.String("email_verified"), Value: aws.String("true")},
		},
	})
	return err
}

func (c *cognitoUsers) addSessions(_ context.Context, id string, n int) error {
	c.standIn.addSessions(c.name(id), n)
	return nil
}

func (c *cognitoUsers) sessionsOf(_ context.Context, id string) (int, error) {
	return c.standIn.sessionsOf(c.name(id)), nil
}

// cognitoStandIn sits between the service and cognito-local. It answers
// AdminUserGlobalSignOut, which the emulator lacks, as Cognito answers it
// for a user it has (an empty object), and ends the user's recorded
// sessions, but only in the Env's pool: another is answered as Cognito
// answers a pool it does not have. It passes every other call on, noting
// each AdminSetUserPassword the emulator accepted.
type cognitoStandIn struct {
	srv      *httptest.Server
	emulator string
	poolID   string
	client   *http.Client

	mu       sync.Mutex
	sets     map[string]int // user name -> password sets accepted
	sessions map[string]int // user name -> sessions open
}

func newCognitoStandIn(emulatorEndpoint, poolID string) *cognitoStandIn {
	s := &cognitoStandIn{
		emulator: emulatorEndpoint, poolID: poolID, client: &http.Client{},
		sets: map[string]int{}, sessions: map[string]int{},
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *cognitoStandIn) serve(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// "AWSCognitoIdentityProviderService.AdminSetUserPassword" -> "AdminSetUserPassword"
	op := r.Header.Get("X-Amz-Target")
	op = op[strings.LastIndexByte(op, '.')+1:]
	var body struct{ UserPoolId, Username string }
	if err := json.Unmarshal(raw, &body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if op == "AdminUserGlobalSignOut" && body.UserPoolId != s.poolID {
		msg, _ := json.Marshal("User pool " + body.UserPoolId + " does not exist.")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"ResourceNotFoundException","message":%s}`, msg)
		return
	}
	if op == "AdminUserGlobalSignOut" {
		s.mu.Lock()
		s.sessions[body.Username] = 0
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		io.WriteString(w, `{}`) //nolint:errcheck // the status is sent
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, s.emulator+r.URL.RequestURI(), bytes.NewReader(raw))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if op == "AdminSetUserPassword" && resp.StatusCode == http.StatusOK {
		s.countPasswordSet(body.Username)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	w.Write(answer) //nolint:errcheck // the status is sent
}

func (s *cognitoStandIn) countPasswordSet(name string) {
	s.mu.Lock()
	s.sets[name]++
	s.mu.Unlock()
}

func (s *cognitoStandIn) passwordSets(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sets[name]
}

func (s *cognitoStandIn) addSessions(name string, n int) {
	s.mu.Lock()
	s.sessions[name] += n
	s.mu.Unlock()
}

func (s *cognitoStandIn) sessionsOf(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[name]
}
