// Package function wires a Lambda function: from its configuration it
// builds the AWS clients, the store, the mailer, the keys, the flows and
// the HTTP edge. The four Lambda mains, the development server and the CLI
// all build them here, so they cannot drift.
//
// A main names its own gateway.Function and nothing else (Start), so its
// bootstrap links only its routes' code; and this package links no Secrets
// Manager client: the mains whose flows hash with the HMAC key hand theirs
// in (pkg/keysecret).
package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/passreset/passreset/pkg/captcha"
	"github.com/passreset/passreset/pkg/cognito"
	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/keyring"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/ses"
	"github.com/passreset/passreset/pkg/webhook"
)

// Clients are the AWS clients the service uses.
type Clients struct {
	DynamoDB *dynamodb.Client
	SES      *sesv2.Client
	// Cognito is the user pools client of USERS_BACKEND=cognito; built
	// with the others, it makes no call until the Cognito back-end uses it.
	Cognito *cognitoidentityprovider.Client
	// Secrets reads the HMAC key's secret (keysecret.New); nil in a
	// function that does not read it, or with a fixed key (HMAC_KEY).
	Secrets keyring.SecretsAPI
}

// envAWS reads the AWS configuration Lambda gives a function from its
// environment: AWS_REGION, the role's credentials in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SESV2, AWS_ENDPOINT_URL_SECRETS_MANAGER and
// AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER for local emulators. It makes no network call.
//
// It does not go through the SDK's default configuration chain (shared
// files, SSO, STS, IMDS): a function never needs them, and leaving their
// packages out of the binary makes every bootstrap smaller and its cold
// start shorter (see docs/performance.md). The CLI, which does need
// profiles and SSO, loads the full chain itself.
func envAWS(lookup func(string) (string, bool)) (aws.Config, Endpoints, error) {
	env := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	region := env("AWS_REGION")
	if region == "" {
		return aws.Config{}, Endpoints{}, errors.New("AWS_REGION is not set")
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"))),
	}
	return cfg, Endpoints{
		DynamoDB: env("AWS_ENDPOINT_URL_DYNAMODB"),
		SES:      env("AWS_ENDPOINT_URL_SESV2"),
		Secrets:  env("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
		Cognito:  env("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER"),
	}, nil
}

// Endpoints are base URLs that replace AWS's, service by service: local
// emulators (DynamoDB Local, the SES emulator, cognito-local) or a test's
// fake. An empty one leaves the client where the SDK's configuration
// points it.
type Endpoints struct {
	DynamoDB, SES, Secrets, Cognito string
}

// ClientsAt builds the DynamoDB, SES and Cognito clients from cfg, each at its
// endpoint in at; Secrets is left to the caller that reads the key's
// secret (keysecret.New(cfg, at.Secrets)). The functions, the development
// server, the CLI, the benchmarks and the tests all build their clients
// here, with what they inject (APIOptions, an HTTPClient, a Retryer) in
// cfg.
func ClientsAt(cfg aws.Config, at Endpoints) Clients {
	return Clients{
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { override(&o.BaseEndpoint, at.DynamoDB) }),
		SES:      sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { override(&o.BaseEndpoint, at.SES) }),
		Cognito:  cognitoidentityprovider.NewFromConfig(cfg, func(o *cognitoidentityprovider.Options) { override(&o.BaseEndpoint, at.Cognito) }),
	}
}

// override sets a client's base endpoint to url unless url is empty.
func override(endpoint **string, url string) {
	if url != "" {
		*endpoint = aws.String(url)
	}
}

// LocalRegion is the region clients of the local emulators name; the
// emulators accept any.
const LocalRegion = "us-east-1"

// LocalConfig is the AWS configuration of clients of local emulators, which
// accept any credentials: LocalRegion and static ones. Point the clients at
// the emulators with ClientsAt.
func LocalConfig() aws.Config {
	return aws.Config{
		Region:      LocalRegion,
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", ""),
	}
}

// Service is the wired service and the store under it.
type Service struct {
	Flows *reset.Service
	Store *dynamo.Store
}

// pwnedTimeout bounds the breached-password check, which fails open: a
// slow API costs a reset at most this long, well inside the functions'
// 10-second timeout.
const pwnedTimeout = 2 * time.Second

// NewService wires the flows over the clients, on the wall clock.
func NewService(cfg config.Config, c Clients, log *slog.Logger) (Service, error) {
	return NewServiceWith(cfg, c, log, time.Now)
}

// NewServiceWith is NewService on the given clock, for tests.
func NewServiceWith(cfg config.Config, c Clients, log *slog.Logger, now func() time.Time) (Service, error) {
	keys, err := keysOf(cfg, c, log, now)
	if err != nil {
		return Service{}, err
	}
	return newService(cfg, c, keys, log, now)
}

// keysOf is the HMAC keys in cfg: the secret HMAC_KEY_SECRET_ARN names,
// read through c.Secrets, or the fixed HMAC_KEY.
func keysOf(cfg config.Config, c Clients, log *slog.Logger, now func() time.Time) (reset.Keys, error) {
	if cfg.HMACKeySecretARN == "" {
		ring, err := keyring.Static(cfg.HMACKeyID, cfg.HMACKey)
		if err != nil {
			return nil, fmt.Errorf("HMAC_KEY: %w", err)
		}
		return ring, nil
	}
	if c.Secrets == nil {
		return nil, errors.New("HMAC_KEY_SECRET_ARN is set, but this function was built without a Secrets Manager client")
	}
	secret := keyring.FromSecret(c.Secrets, cfg.HMACKeySecretARN)
	secret.Log = log
	secret.Now = now // refreshes follow the service's clock, so tests can step it
	return secret, nil
}

// noKeys are the keys of a function none of whose flows hashes with one.
// Asking them is a wiring mistake, answered as a failed dependency.
type noKeys struct{}

var errNoKeys = errors.New("this function has no HMAC key: none of its flows should need one")

func (noKeys) Current(context.Context) (reset.Key, error)      { return reset.Key{}, errNoKeys }
func (noKeys) Subject(context.Context) (reset.Key, error)      { return reset.Key{}, errNoKeys }
func (noKeys) ByID(context.Context, string) (reset.Key, error) { return reset.Key{}, errNoKeys }

// newService wires the flows over the clients with keys.
func newService(cfg config.Config, c Clients, keys reset.Keys, log *slog.Logger, now func() time.Time) (Service, error) {
	deps, store, err := depsOf(cfg, c, keys, log, now)
	if err != nil {
		return Service{}, err
	}
	return Service{Flows: reset.New(deps, cfg.Reset), Store: store}, nil
}

// depsOf builds the flows' collaborators from cfg: the store, and the
// directory the chosen USERS_BACKEND names.
func depsOf(cfg config.Config, c Clients, keys reset.Keys, log *slog.Logger, now func() time.Time) (reset.Deps, *dynamo.Store, error) {
	hasher, err := password.NewHasher(cfg.Password.Algorithm)
	if err != nil {
		return reset.Deps{}, nil, fmt.Errorf("PASSWORD_HASH: %w", err)
	}
	store := dynamo.New(c.DynamoDB, cfg.TokensTable, cfg.Users)
	deps := reset.Deps{
		Accounts: store,
		Store:    store,
		Mailer:   ses.New(c.SES, cfg.Mail),
		Keys:     keys,
		Hasher:   hasher,
		Policy:   cfg.Password,
		Log:      log,
		Now:      now,
	}
	if cfg.PwnedCheck {
		deps.Breaches = password.NewPwned(cfg.PwnedAPIURL, pwnedTimeout)
	}
	if cfg.Sessions.Name != "" {
		// Only with a sessions table: a nil Sessions leaves a reset's
		// sessions to the session_version bump alone.
		deps.Sessions = dynamo.NewSessions(c.DynamoDB, cfg.Sessions)
	}
	if cfg.UsersBackend == config.BackendWebhook {
		// The accounts are the team's, behind its hook: it finds them,
		// sets their passwords (in two phases, as it cannot join the
		// tokens table's transaction) and ends their sessions. The store
		// keeps codes, links and counters. No call is made here.
		client, err := webhook.New(webhook.Config{
			BaseURL:    cfg.WebhookURL,
			Secrets:    cfg.WebhookSecrets,
			HTTPClient: hookHTTPClient(),
		})
		if err != nil {
			return reset.Deps{}, nil, fmt.Errorf("WEBHOOK_URL: %w", err)
		}
		dir := webhook.NewDirectory(client)
		deps.Accounts, deps.Passwords, deps.Sessions = dir, dir, dir
	}
	if cfg.UsersBackend == config.BackendCognito {
		// The accounts are a Cognito user pool's: it finds them, sets
		// their passwords (in two phases, on the user's last-modified
		// stamp) and signs them out everywhere. No call is made here.
		if c.Cognito == nil {
			return reset.Deps{}, nil, errors.New("USERS_BACKEND is cognito, but no Cognito client was built")
		}
		dir := cognito.New(c.Cognito, cfg.CognitoUserPoolID)
		deps.Accounts, deps.Passwords, deps.Sessions = dir, dir, dir
	}
	return deps, store, nil
}

// hookHTTPClient is the HTTP client of the team's hook. The client bounds
// each attempt (2 s) and keeps clear of the function's deadline; these
// bound the steps inside an attempt, so a hook that accepts the connection
// and never answers its TLS handshake or headers is given up on just as
// soon, and the connections are reused between invocations of a warm
// function.
func hookHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   2 * time.Second,
		ResponseHeaderTimeout: 2 * time.Second,
		IdleConnTimeout:       60 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}}
}

// Logger is the JSON logger every function writes to standard output,
// where Lambda sends it to CloudWatch Logs.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, nil))
}

// SecretsReader builds the reader of the HMAC key's secret: keysecret.New.
type SecretsReader func(cfg aws.Config, endpoint string) keyring.SecretsAPI

// Start runs f as a Lambda function: it builds f's handler from the
// environment and hands it to the Lambda runtime. secrets is keysecret.New
// for a function whose flows hash with the HMAC key, nil for one whose do
// not. It is all a Lambda main does.
func Start(f gateway.Function, secrets SecretsReader) {
	handler, err := Handler(f, secrets, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", f.Name, err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}

// Handler reads the configuration through lookup (os.LookupEnv), builds
// the clients and the service, and returns f's handler: what a Lambda
// function does at cold start.
func Handler(f gateway.Function, secrets SecretsReader, lookup func(string) (string, bool)) (*gateway.Handler, error) {
	cfg, err := config.LoadEnv(lookup)
	if err != nil {
		return nil, err
	}
	awsCfg, at, err := envAWS(lookup)
	if err != nil {
		return nil, err
	}
	clients := ClientsAt(awsCfg, at)
	log := Logger().With("function", f.Name)
	var keys reset.Keys = noKeys{}
	if f.HashesWithKey {
		if secrets != nil {
			clients.Secrets = secrets(awsCfg, at.Secrets)
		}
		if keys, err = keysOf(cfg, clients, log, time.Now); err != nil {
			return nil, err
		}
	}
	svc, err := newService(cfg, clients, keys, log, time.Now)
	if err != nil {
		return nil, err
	}
	opts := PageOptions(cfg)
	if opts.Captcha, err = Captcha(cfg, f.Sends()); err != nil {
		return nil, err
	}
	return gateway.Serve(svc.Flows, log, f.Routes, opts)
}

// Captcha is the bot defence of the HTTP edge in cfg, for a handler that
// serves send routes (sends) or only shows the reset page. One that sends
// needs CAPTCHA_SECRET when CAPTCHA_PROVIDER is set; the template gives
// the secret to those functions alone, so pkg/config cannot require it.
// No call is made here.
func Captcha(cfg config.Config, sends bool) (gateway.Captcha, error) {
	c := cfg.Captcha
	if c.Provider == "" {
		return gateway.Captcha{}, nil
	}
	edge := gateway.Captcha{Provider: c.Provider, SiteKey: c.SiteKey}
	if !sends {
		return edge, nil
	}
	if c.Secret.IsZero() {
		return gateway.Captcha{}, fmt.Errorf("configuration: CAPTCHA_SECRET is required with CAPTCHA_PROVIDER=%s on a function that sends codes or links (the provider's secret key; deployed, CaptchaSecretArn)", c.Provider)
	}
	v, err := captcha.New(c.Provider, c.SiteKey, c.Secret, c.VerifyURL, nil)
	if err != nil {
		return gateway.Captcha{}, fmt.Errorf("configuration: CAPTCHA_PROVIDER: %w", err)
	}
	edge.Verifier = v
	return edge, nil
}

// PageOptions are the HTTP edge's settings in cfg: the reset page's, the
// origins whose browser requests it serves, and where its metrics go:
// standard output, the same stream as the log, which Lambda ships to
// CloudWatch Logs, where the Embedded Metric Format lines become metrics
// with no AWS call by the function.
func PageOptions(cfg config.Config) gateway.Options {
	return gateway.Options{
		AppName: cfg.Mail.AppName, LoginURL: cfg.LoginURL, Policy: cfg.Password,
		LogoURL: cfg.Mail.LogoURL, SupportAddress: cfg.Mail.SupportAddress, DefaultLanguage: cfg.Mail.DefaultLanguage,
		AllowedOrigins: cfg.AllowedOrigins, APIURL: cfg.APIURL,
	}
}
