package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/passreset/passreset/pkg/devserver"
)

// dev runs the dev stack until ctx ends (Ctrl-C), then stops everything it
// started.
func (c cli) dev(ctx context.Context, args []string) error {
	fs := c.flags("dev")
	port := fs.Int("port", devserver.DefaultPort, "`port` of the API (0: a free one)")
	sesPort := fs.Int("ses-port", devserver.DefaultSESPort, "`port` of the SES emulator and its mail viewer (0: a free one)")
	dbPort := fs.Int("dynamodb-port", devserver.DefaultDynamoDBPort, "`port` of DynamoDB Local (0: a free one)")
	persist := fs.Bool("persist", c.getenv("PERSIST") == "1", "keep DynamoDB Local's data in .dev/dynamodb across runs (default: PERSIST=1)")
	state := fs.String("state-dir", "", "`directory` for the lock, logs and data (default: the repository's .dev)")
	verbose := fs.Bool("v", false, "also print the service's JSON log and the emulators' output")
	if rest, err := parse(fs, args); err != nil {
		return err
	} else if len(rest) > 0 {
		return usageError("dev takes no arguments")
	}
	root, err := repoRoot()
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	opts := devserver.Options{
		Root: root, StateDir: *state,
		Port: *port, SESPort: *sesPort, DynamoDBPort: *dbPort,
		Persist: *persist, Getenv: c.getenv, Stdout: c.stdout, Verbose: *verbose,
	}
	fmt.Fprintln(c.stdout, "passreset dev: starting DynamoDB Local and the SES emulator...")
	started := time.Now()
	d, err := devserver.Start(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			// Ctrl-C while starting: Start stopped what it had started.
			fmt.Fprintln(c.stdout, "passreset dev: stopped")
			return nil
		}
		return err
	}
	fmt.Fprint(c.stdout, banner(d, opts, time.Since(started)))

	var serveErr error
	select {
	case <-ctx.Done():
		fmt.Fprintln(c.stdout, "\npassreset dev: stopping...")
	case serveErr = <-d.Done():
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		return err
	}
	if serveErr != nil {
		return fmt.Errorf("dev: the API stopped: %w", serveErr)
	}
	fmt.Fprintln(c.stdout, "passreset dev: stopped")
	return nil
}

// banner says what runs where. The "API:", "Mail viewer:" and "DynamoDB:"
// lines are read by the tests; keep their shape.
func banner(d *devserver.Dev, opts devserver.Options, took time.Duration) string {
	stateDir := opts.StateDir
	if stateDir == "" {
		stateDir = filepath.Join(opts.Root, ".dev")
	}
	storage := "in memory: gone at stop; PERSIST=1 make dev keeps it"
	if opts.Persist {
		storage = "kept in " + filepath.Join(stateDir, "dynamodb")
	}
	demo := fmt.Sprintf("%s / %s   (user name %s)", devserver.DemoEmail, devserver.DemoPassword, devserver.DemoUsername)
	if !d.DemoCreated {
		demo = devserver.DemoEmail + "   (kept from an earlier run: its password is as you last set it)"
	}
	logs := "service log: " + filepath.Join(stateDir, "service.log") + "; -v prints it here"
	if opts.Verbose {
		logs = "service log and emulator output: below"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "passreset dev: ready in %.1fs (dev only: emulated AWS, a published HMAC key)\n", took.Seconds())
	fmt.Fprintf(&b, "  API:          %s   (the routes of template.yaml)\n", d.API)
	fmt.Fprintf(&b, "  Mail viewer:  %s   (every mail the service sends)\n", d.SES)
	fmt.Fprintf(&b, "  Metrics:      %s   (the service's counters since start)\n", d.API+devserver.MetricsPath)
	fmt.Fprintf(&b, "  DynamoDB:     %s   (%s)\n", d.DynamoDB, storage)
	if d.UserPool != "" {
		fmt.Fprintf(&b, "  Cognito:      %s   (user pool %s on cognito-local, the accounts; gone at stop)\n", d.Cognito, d.UserPool)
	}
	fmt.Fprintf(&b, "  Demo account: %s\n", demo)
	fmt.Fprintf(&b, "  Logs:         %s\n", logs)
	fmt.Fprintf(&b, "Try it:\n")
	fmt.Fprintf(&b, "  curl -s %s/auth/otp -H 'Content-Type: application/json' -d '{\"action\":\"create\",\"email\":\"%s\"}'\n", d.API, devserver.DemoEmail)
	fmt.Fprintf(&b, "  then read the code at %s and send {\"action\":\"validate\",\"email\":...,\"otp\":...,\"new_password\":...}\n", d.SES)
	if d.UserPool == "" { // user check reads the DynamoDB users table
		fmt.Fprintf(&b, "  go run ./cmd/passreset user check --email %s --password NEW\n", devserver.DemoEmail)
	}
	fmt.Fprintf(&b, "Ctrl-C stops everything. One line per request follows.\n")
	return b.String()
}
