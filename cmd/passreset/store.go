package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/devserver"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/function"
)

// target is the DynamoDB that tables and user work on, and the service's
// configuration there.
type target struct {
	db       *dynamodb.Client
	where    string // for messages: an endpoint, or "AWS (region)"
	tokens   string
	users    dynamo.UsersTable
	hashAlgo string
	devStack bool // the target is the dev stack's DynamoDB
}

// targetFlags are the flags every command on a DynamoDB takes.
type targetFlags struct {
	endpoint, tokens, users, state *string
}

func addTargetFlags(fs *flag.FlagSet) targetFlags {
	return targetFlags{
		endpoint: fs.String("endpoint", "", "DynamoDB `URL` (default: see passreset help)"),
		tokens:   fs.String("tokens-table", "", "tokens table `name` (default: TOKENS_TABLE, else "+devserver.TokensTable+")"),
		users:    fs.String("users-table", "", "users table `name` (default: USERS_TABLE, else "+devserver.UsersTable+")"),
		state:    fs.String("state-dir", "", "the dev stack's state `directory` (default: the repository's .dev)"),
	}
}

// awsEnv reports whether the environment configures AWS.
func (c cli) awsEnv() bool {
	return c.getenv("AWS_PROFILE") != "" || c.getenv("AWS_ACCESS_KEY_ID") != "" || c.getenv("AWS_REGION") != ""
}

// awsConfig is the AWS configuration for a client at endpoint. An emulator
// takes any credentials, so an endpoint with no AWS environment gets the
// local ones; a real endpoint given by URL, or none, gets the SDK's own
// configuration chain.
func (c cli) awsConfig(ctx context.Context, endpoint string) (aws.Config, error) {
	if endpoint != "" && !c.awsEnv() {
		return function.LocalConfig(), nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, nil
}

// resolve picks the DynamoDB by the rule in usage: --endpoint, else
// AWS_ENDPOINT_URL_DYNAMODB, else AWS when its environment is set, else
// the dev stack. The table layout comes from the same variables the
// service reads (USERS_KEY_ATTRIBUTE and so on), with the dev defaults.
func (c cli) resolve(ctx context.Context, f targetFlags) (target, error) {
	var t target
	endpoint := *f.endpoint
	if endpoint == "" {
		endpoint = c.getenv("AWS_ENDPOINT_URL_DYNAMODB")
	}
	if endpoint == "" && !c.awsEnv() {
		st, err := devserver.ReadState(stateDir(*f.state))
		if err == nil {
			endpoint = st.DynamoDB
		} else {
			endpoint = fmt.Sprintf("http://localhost:%d", devserver.DefaultDynamoDBPort)
		}
		t.devStack = true
	}
	cfg, err := c.awsConfig(ctx, endpoint)
	if err != nil {
		return t, err
	}
	t.where = endpoint
	if endpoint == "" {
		t.where = "AWS (" + cfg.Region + ")"
	}
	t.db = function.ClientsAt(cfg, function.Endpoints{DynamoDB: endpoint}).DynamoDB

	// The service's own configuration, on the dev defaults, so the layout
	// of the users table is read exactly as the functions read it.
	conf, err := config.Load(devserver.Environment(c.getenv, "http://localhost"))
	if err != nil {
		return t, err
	}
	t.tokens, t.users, t.hashAlgo = conf.TokensTable, conf.Users, string(conf.Password.Algorithm)
	if *f.tokens != "" {
		t.tokens = *f.tokens
	}
	if *f.users != "" {
		t.users.Name = *f.users
	}
	return t, nil
}

// explain adds a hint to an error talking to the dev stack that is not
// running.
func (t target) explain(err error) error {
	if t.devStack && strings.Contains(err.Error(), "connection refused") {
		return fmt.Errorf("%w\n(no DynamoDB at %s: start the dev stack with make dev, or give --endpoint)", err, t.where)
	}
	return err
}

// tables runs "tables create".
func (c cli) tables(ctx context.Context, args []string) error {
	fs := c.flags("tables create")
	tf := addTargetFlags(fs)
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || rest[0] != "create" {
		return usageError("tables: want tables create")
	}
	t, err := c.resolve(ctx, tf)
	if err != nil {
		return err
	}
	if err := dynamo.CreateTables(ctx, t.db, t.tokens, t.users); err != nil {
		return t.explain(err)
	}
	fmt.Fprintf(c.stdout, "tables %s and %s are ready at %s\n", t.tokens, t.users.Name, t.where)
	return nil
}

// readPassword returns p, or the first line of stdin when p is "-".
func (c cli) readPassword(p string) (string, error) {
	if p != "-" {
		return p, nil
	}
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
