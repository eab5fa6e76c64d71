// Command passreset runs and pokes the password-reset service on a
// developer's machine, and sets up its tables anywhere.
//
//	passreset dev                         the whole service locally (make dev)
//	passreset tables create               create the tokens and users tables
//	passreset user add --email E --password P [--username U]
//	passreset user check --email E --password P   exit 0 on a match, 1 if not
//	passreset invoke FUNCTION --event FILE        run a function's bootstrap once
//	passreset keys rotate --secret-id ARN         a new HMAC key in the secret
//	passreset mail suppressed --email E           exit 1 if SES suppresses mail to E
//	passreset mail unsuppress --email E           take E off SES's suppression list
//	passreset support send-link ACCOUNT [--print] mail (or print) a reset link
//	passreset support compromised ACCOUNT         end sessions, kill codes and links, mail a link
//	passreset support state ACCOUNT [--json]      the account's recovery state, no secret
//
// With no endpoint given, tables and user talk to the running "make dev"
// stack; see the help of each command for how to point them elsewhere.
// It reuses the service's packages and never imports Lambda's.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"
)

// Exit codes: 0 done, 1 a check that did not match (user check) or found
// an address suppressed (mail suppressed), 2 any
// error, usage included.
const (
	exitOK       = 0
	exitMismatch = 1
	exitError    = 2
)

const usage = `passreset: run and poke the password-reset service.

Usage:
  passreset dev [--port 3000] [--ses-port 8005] [--dynamodb-port 8000] [--persist] [-v]
      the whole service on this machine: DynamoDB Local, the SES emulator
      (mail viewer at http://localhost:8005), the tables, a demo account,
      and the API of template.yaml on http://localhost:3000. make dev runs it.
  passreset tables create [--endpoint URL] [--tokens-table N] [--users-table N]
      create the tokens and users tables (left alone if they exist).
  passreset user add --email E [--username U] --password P [--id ID]
      add an account (verified, enabled) with that password.
  passreset user check --email E --password P
      exit 0 when P is the account's password, 1 when it is not.
  passreset invoke FUNCTION --event FILE [--bootstrap PATH]
      run functions/FUNCTION's real bootstrap once under a local Lambda
      Runtime API, against the running dev stack, and print its response.
  passreset keys rotate --secret-id ARN_OR_NAME [--endpoint URL] [--drop-previous]
      put a new HMAC key in the deployed secret (Secrets Manager at --endpoint,
      else AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS), keeping the old key
      under previous and the subject key as it was. Prints key ids, never a
      key. See SECURITY.md, "Rotating the HMAC key".
  passreset mail suppressed --email E [--endpoint URL]
      whether the account-level SES suppression list holds E, and if so why
      (BOUNCE or COMPLAINT), since when, and the message and feedback ids SES
      kept: exit 0 when it does not, 1 when it does. SES drops mail to an
      address on it when the sending configuration set uses the account's
      list, as template.yaml's does (it sets no SuppressionOptions).
  passreset mail unsuppress --email E [--endpoint URL]
      take E off the account's SES suppression list (exit 0 also when it was
      not on it). Both ask SES at --endpoint, else AWS_ENDPOINT_URL_SESV2,
      else AWS; the SES emulator of passreset dev has no suppression list.
  passreset support send-link ACCOUNT [--print] [--audit-log FILE]
      issue a reset link to the account (an email, a user name or an account
      id) through the service's own link flow and limits, and mail it to the
      stored address; --print prints it instead (see the warning it gives).
  passreset support compromised ACCOUNT [--audit-log FILE]
      end the account's sessions, kill every outstanding code and link, and
      mail a reset link. Run again while that link is live, it only ends the
      sessions again.
  passreset support state ACCOUNT [--json]
      the account's recovery state, without any secret: live code or link
      and expiry, attempts, failure budget, sends and when they free.
  The support commands read the deployed service's configuration from the
  same variables its functions have (TOKENS_TABLE, USERS_*, RESET_URL,
  MAIL_FROM, HMAC_KEY_SECRET_ARN, SESSIONS_TABLE, USERS_BACKEND, ...),
  or use the dev stack's, and write one JSON audit line per action to
  standard error or --audit-log. They also take the flags of tables and
  --ses-endpoint URL (default: AWS_ENDPOINT_URL_SESV2, else AWS).

Where tables and user go (the first rule that applies):
  1. --endpoint URL
  2. AWS_ENDPOINT_URL_DYNAMODB
  3. AWS, when AWS_PROFILE, AWS_ACCESS_KEY_ID or AWS_REGION is set
     (the SDK's usual configuration chain)
  4. the running passreset dev stack (.dev/dev.json), else http://localhost:8000
A password of "-" is read from the first line of standard input, to keep it
out of the process list and the shell history.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr))
}

// cli is what every command is given.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time // the support commands' clock
}

func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	return cli{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now}.run(ctx, args)
}

func (c cli) run(ctx context.Context, args []string) int {
	stdout, stderr := c.stdout, c.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError
	}
	var err error
	code := exitOK
	switch cmd, rest := args[0], args[1:]; cmd {
	case "dev":
		err = c.dev(ctx, rest)
	case "tables":
		err = c.tables(ctx, rest)
	case "user":
		code, err = c.user(ctx, rest)
	case "invoke":
		err = c.invoke(ctx, rest)
	case "keys":
		err = c.keys(ctx, rest)
	case "mail":
		code, err = c.mail(ctx, rest)
	case "support":
		err = c.support(ctx, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		err = usageError(fmt.Sprintf("unknown command %q", cmd))
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "passreset: %v\n", err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprint(stderr, "\n"+usage)
		}
		return exitError
	}
	return code
}

// usageError is a command line that cannot be run.
type usageError string

func (e usageError) Error() string { return string(e) }

// parse parses fs over args, allowing flags after positional arguments
// ("invoke otp-create --event f.json"), and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError(err.Error())
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func (c cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("passreset "+name, flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	return fs
}

// repoRoot is the repository holding the working directory: the nearest
// directory at or above it with a go.mod and a template.yaml.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if fileExists(filepath.Join(dir, "go.mod")) && fileExists(filepath.Join(dir, "template.yaml")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a clone of the passreset repository (no go.mod and template.yaml at or above the working directory)")
		}
		dir = parent
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// stateDir is where the dev stack keeps its state: --state-dir, else the
// repository's .dev ("" outside a clone).
func stateDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	root, err := repoRoot()
	if err != nil {
		return ""
	}
	return filepath.Join(root, ".dev")
}
