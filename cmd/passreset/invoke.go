package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/passreset/passreset/pkg/devserver"
)

// invoke runs "invoke FUNCTION --event FILE": the function's real
// bootstrap, built for this machine, under AWS's Lambda Runtime Interface
// Emulator, the one sam local invoke runs, but without Docker. It talks to the running dev
// stack's emulators. The response goes to stdout, the function's own
// output to stderr.
func (c cli) invoke(ctx context.Context, args []string) error {
	fs := c.flags("invoke")
	eventFile := fs.String("event", "", "`file` holding the event (an API Gateway v2 request; - reads stdin); see events/")
	bootstrap := fs.String("bootstrap", "", "`path` of a bootstrap built for this machine (default: build functions/FUNCTION into .dev/bin)")
	timeout := fs.Duration("timeout", 10*time.Second, "the function's `timeout`, as in template.yaml")
	state := fs.String("state-dir", "", "the dev stack's state `directory` (default: the repository's .dev)")
	rest, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || *eventFile == "" {
		return usageError("invoke: want invoke FUNCTION --event FILE")
	}
	name := rest[0]

	var event []byte
	if *eventFile == "-" {
		event, err = io.ReadAll(c.stdin)
	} else {
		event, err = os.ReadFile(*eventFile)
	}
	if err != nil {
		return fmt.Errorf("invoke: event: %w", err)
	}
	st, err := devserver.ReadState(stateDir(*state))
	if errors.Is(err, devserver.ErrNotRunning) {
		return fmt.Errorf("invoke: the function runs against the dev stack's DynamoDB and SES, and %w", err)
	}
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	path := *bootstrap
	if path == "" {
		if path, err = c.buildBootstrap(ctx, name); err != nil {
			return err
		}
	}

	res, err := c.runRIE(ctx, rieRun{
		bootstrap: path,
		name:      name,
		env:       devserver.FunctionEnv(c.getenv, st),
		timeout:   *timeout,
	}, event)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", name, err)
	}
	if res.failure != "" {
		return fmt.Errorf("invoke %s: the function failed: %s", name, res.failure)
	}
	fmt.Fprintf(c.stdout, "%s\n", strings.TrimSpace(string(res.response)))
	fmt.Fprintf(c.stderr, "passreset invoke: %s answered in %d ms\n", name, res.duration.Milliseconds())
	return nil
}

// buildBootstrap builds functions/name for this machine into
// .dev/bin/name/bootstrap, with the Lambda build's tag. make build's
// bootstraps are linux/arm64, for Lambda, and do not run here.
func (c cli) buildBootstrap(ctx context.Context, name string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("invoke: %w", err)
	}
	if !fileExists(filepath.Join(root, "functions", name, "main.go")) {
		return "", usageError(fmt.Sprintf("invoke: no function %q (want a directory of functions/)", name))
	}
	out := filepath.Join(root, ".dev", "bin", name, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-o", out, "./functions/"+name)
	cmd.Dir = root
	// GOOS and GOARCH: this machine's, whatever the environment says.
	cmd.Env = append(os.Environ(), "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("invoke: build functions/%s: %w", name, err)
	}
	return out, nil
}
