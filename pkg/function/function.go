// Package function wires a Lambda function: from its configuration it
// builds the AWS clients, the store, the mailer, the keys, the flows and
// the HTTP edge. The four Lambda mains, the development server and the CLI
// all build them here, so they cannot drift.
package function

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/keyring"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
	"github.com/passreset/passreset/pkg/ses"
)

// Clients are the AWS clients the service uses.
type Clients struct {
	DynamoDB *dynamodb.Client
	SES      *sesv2.Client
	Secrets  *secretsmanager.Client
}

// EnvClients builds the clients from the environment Lambda gives a
// function: AWS_REGION, the role's credentials in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, and AWS_ENDPOINT_URL_DYNAMODB,
// AWS_ENDPOINT_URL_SESV2 and AWS_ENDPOINT_URL_SECRETS_MANAGER for local
// emulators. It makes no network call.
//
// It does not go through the SDK's default configuration chain (shared
// files, SSO, STS, IMDS): a function never needs them, and leaving their
// packages out of the binary makes every bootstrap smaller and its cold
// start shorter (see docs/performance.md). The CLI, which does need
// profiles and SSO, loads the full chain itself.
func EnvClients(lookup func(string) (string, bool)) (Clients, error) {
	env := func(name string) string {
		v, _ := lookup(name)
		return v
	}
	region := env("AWS_REGION")
	if region == "" {
		return Clients{}, errors.New("AWS_REGION is not set")
	}
	cfg := aws.Config{
		Region: region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"))),
	}
	return ClientsAt(cfg, Endpoints{
		DynamoDB: env("AWS_ENDPOINT_URL_DYNAMODB"),
		SES:      env("AWS_ENDPOINT_URL_SESV2"),
		Secrets:  env("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
	}), nil
}

// Endpoints are base URLs that replace AWS's, service by service: local
// emulators (DynamoDB Local, the SES emulator) or a test's fake. An empty
// one leaves the client where the SDK's configuration points it.
type Endpoints struct {
	DynamoDB, SES, Secrets string
}

// ClientsAt builds the clients from cfg, each at its endpoint in at. The
// functions, the development server, the CLI, the benchmarks and the tests
// all build their clients here, with what they inject (APIOptions, an
// HTTPClient, a Retryer) in cfg.
func ClientsAt(cfg aws.Config, at Endpoints) Clients {
	return Clients{
		DynamoDB: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { override(&o.BaseEndpoint, at.DynamoDB) }),
		SES:      sesv2.NewFromConfig(cfg, func(o *sesv2.Options) { override(&o.BaseEndpoint, at.SES) }),
		Secrets:  secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) { override(&o.BaseEndpoint, at.Secrets) }),
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
	var keys reset.Keys
	if cfg.HMACKeySecretARN != "" {
		secret := keyring.FromSecret(c.Secrets, cfg.HMACKeySecretARN)
		secret.Log = log
		secret.Now = now // refreshes follow the service's clock, so tests can step it
		keys = secret
	} else {
		ring, err := keyring.Static(cfg.HMACKeyID, cfg.HMACKey)
		if err != nil {
			return Service{}, fmt.Errorf("HMAC_KEY: %w", err)
		}
		keys = ring
	}
	hasher, err := password.NewHasher(cfg.Password.Algorithm)
	if err != nil {
		return Service{}, fmt.Errorf("PASSWORD_HASH: %w", err)
	}
	store := dynamo.New(c.DynamoDB, cfg.TokensTable, cfg.Users)
	deps := reset.Deps{
		Store:  store,
		Mailer: ses.New(c.SES, cfg.Mail),
		Keys:   keys,
		Hasher: hasher,
		Policy: cfg.Password,
		Log:    log,
		Now:    now,
	}
	if cfg.PwnedCheck {
		deps.Breaches = password.NewPwned(cfg.PwnedAPIURL, pwnedTimeout)
	}
	flows := reset.New(deps, cfg.Reset)
	return Service{Flows: flows, Store: store}, nil
}

// Logger is the JSON logger every function writes to standard output,
// where Lambda sends it to CloudWatch Logs.
func Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, nil))
}

// Handler reads the configuration through lookup (os.LookupEnv),
// builds the clients and the service, and returns the handler of the named
// function. It is all a Lambda main does at cold start.
func Handler(name string, lookup func(string) (string, bool)) (*gateway.Handler, error) {
	cfg, err := config.LoadEnv(lookup)
	if err != nil {
		return nil, err
	}
	clients, err := EnvClients(lookup)
	if err != nil {
		return nil, err
	}
	log := Logger().With("function", name)
	svc, err := NewService(cfg, clients, log)
	if err != nil {
		return nil, err
	}
	return gateway.ForFunctionWithOptions(name, svc.Flows, log, PageOptions(cfg))
}

// PageOptions are the HTTP edge's settings in cfg: the reset page's, and
// the origins whose browser requests it serves.
func PageOptions(cfg config.Config) gateway.Options {
	return gateway.Options{
		AppName: cfg.Mail.AppName, LoginURL: cfg.LoginURL, Policy: cfg.Password,
		AllowedOrigins: cfg.AllowedOrigins, APIURL: cfg.APIURL,
	}
}
