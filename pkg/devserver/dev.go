// Package devserver runs the whole service on one machine, as a developer
// meets it after cloning: DynamoDB Local and the SES emulator (through
// package emulator), the tables, a demo account, and the API on a local
// port with the routes of gateway.FunctionRoutes() (those template.yaml wires
// in AWS), each served by the handler code of the function that serves it
// there. "passreset dev" and "make dev" run it; tests and benchmarks start
// it in-process with Start.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// The ports the dev stack listens on unless told otherwise.
const (
	DefaultPort         = 3000
	DefaultSESPort      = 8005
	DefaultDynamoDBPort = 8000
)

// The demo account every dev stack has. Its password is printed at start;
// it is a dev stack's, known to everyone, like the HMAC key.
const (
	DemoEmail    = "demo@example.com"
	DemoUsername = "demo"
	DemoPassword = "demo-password-1"
	demoID       = "demo"
)

// Options says how to run the dev stack. The zero value of a port is a free
// port; Defaults fills in the usual ones.
type Options struct {
	// Root is the repository: go.mod, node_modules.
	Root string
	// StateDir holds the lock, the state file, the logs and a persisted
	// database; empty means Root/.dev.
	StateDir string
	// Port, SESPort and DynamoDBPort are the ports of the API, the SES
	// emulator (and its mail viewer) and DynamoDB Local; 0 picks a free one.
	Port, SESPort, DynamoDBPort int
	// Persist keeps DynamoDB Local's data in StateDir/dynamodb across runs;
	// otherwise it is in memory and gone at stop.
	Persist bool
	// Getenv reads the user's overrides of config.Variables; nil reads none.
	Getenv func(string) string
	// Stdout receives one line per request. Verbose also sends the
	// service's JSON log and the emulators' output there; otherwise they go
	// to files in StateDir.
	Stdout  io.Writer
	Verbose bool
}

// Defaults is Options with the usual ports, for the repository at root.
func Defaults(root string) Options {
	return Options{Root: root, Port: DefaultPort, SESPort: DefaultSESPort, DynamoDBPort: DefaultDynamoDBPort, Getenv: os.Getenv}
}

// Dev is a running dev stack.
type Dev struct {
	State
	// Demo tells how the demo account was found: created with DemoPassword,
	// or already there (a persisted database) with its password as last set.
	DemoCreated bool

	stack    *emulator.Stack
	server   *http.Server
	served   chan error
	ln       net.Listener
	lock     *lock
	state    string
	closers  []io.Closer
	stopOnce bool
}

// AlreadyRunningError is a second dev stack started while one runs.
type AlreadyRunningError struct {
	API string // "" when unknown
	PID int    // 0 when unknown
	// Port is set when the API port was taken and no dev stack of this
	// repository holds the lock: another clone's, or another program.
	Port int
}

func (e *AlreadyRunningError) Error() string {
	switch {
	case e.PID != 0:
		return fmt.Sprintf("passreset dev is already running on %s (pid %d); stop it with Ctrl-C there", e.API, e.PID)
	case e.Port == 0:
		return "passreset dev is already starting or running from this repository; stop it with Ctrl-C there"
	}
	return fmt.Sprintf("port %d is already in use: is passreset dev running from another clone or terminal? Stop it with Ctrl-C there, or choose another port with --port", e.Port)
}

// Start runs the dev stack and returns once the API answers. Stop it with
// Stop. Start fails with an *AlreadyRunningError when another dev stack
// holds StateDir or the API port.
func Start(ctx context.Context, opts Options) (_ *Dev, err error) {
	if opts.StateDir == "" {
		opts.StateDir = filepath.Join(opts.Root, ".dev")
	}
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if err := os.MkdirAll(opts.StateDir, 0o755); err != nil {
		return nil, fmt.Errorf("dev: state directory: %w", err)
	}

	d := &Dev{served: make(chan error, 1), state: filepath.Join(opts.StateDir, stateFile)}
	defer func() {
		if err != nil {
			d.Stop(context.Background())
		}
	}()
	if d.lock, err = acquire(filepath.Join(opts.StateDir, "dev.lock")); err != nil {
		if errors.Is(err, errLocked) {
			st, _ := ReadState(opts.StateDir)
			return nil, &AlreadyRunningError{API: st.API, PID: st.PID}
		}
		return nil, err
	}

	// The API port first: it is the one a second stack would collide on,
	// and it fails in a moment, before any emulator starts.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(opts.Port)))
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, &AlreadyRunningError{Port: opts.Port}
		}
		return nil, fmt.Errorf("dev: listen: %w", err)
	}
	apiPort := ln.Addr().(*net.TCPAddr).Port
	d.API = "http://localhost:" + strconv.Itoa(apiPort)
	d.server = &http.Server{ReadHeaderTimeout: 10 * time.Second}
	d.ln = ln // closed by Stop until the server owns it

	serviceLog, emulatorLog := opts.Stdout, opts.Stdout
	if !opts.Verbose {
		if serviceLog, err = d.logFile(opts.StateDir, "service.log"); err != nil {
			return nil, err
		}
		if emulatorLog, err = d.logFile(opts.StateDir, "emulators.log"); err != nil {
			return nil, err
		}
	}

	emu := emulator.Options{RepoRoot: opts.Root, DynamoDBPort: opts.DynamoDBPort, SESPort: opts.SESPort, Stdout: emulatorLog}
	if opts.Persist {
		emu.PersistPath = filepath.Join(opts.StateDir, "dynamodb")
	}
	if d.stack, err = emulator.Start(ctx, emu); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	d.DynamoDB, d.SES = d.stack.DynamoDBEndpoint, d.stack.SESEndpoint
	var pool *userPool
	if usesCognito(opts.Getenv) {
		// USERS_BACKEND=cognito: the accounts in a user pool on
		// cognito-local, with the demo user; a fresh one every run.
		if pool, err = startUserPool(ctx); err != nil {
			return nil, fmt.Errorf("dev: %w", err)
		}
		d.closers = append(d.closers, pool)
		d.Cognito, d.UserPool = pool.endpoint, pool.id
		opts.Getenv = withUserPool(opts.Getenv, pool.id)
	}

	cfg, err := config.Load(Environment(opts.Getenv, d.API))
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	d.TokensTable, d.UsersTable = cfg.TokensTable, cfg.Users.Name
	clients := function.ClientsAt(function.LocalConfig(), function.Endpoints{DynamoDB: d.DynamoDB, SES: d.SES, Cognito: d.Cognito})
	if err := dynamo.CreateTables(ctx, clients.DynamoDB, cfg.TokensTable, cfg.Users); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(serviceLog, nil))
	svc, err := function.NewService(cfg, clients, log)
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	if pool != nil {
		d.DemoCreated = true // startUserPool made it
	} else if d.DemoCreated, err = addDemo(ctx, svc.Store); err != nil {
		return nil, fmt.Errorf("dev: demo account: %w", err)
	}
	edge := function.PageOptions(cfg)
	// Every route, the send routes included: with CAPTCHA_PROVIDER set,
	// make dev needs CAPTCHA_SECRET too (and the provider must be
	// reachable, or every send is refused).
	if edge.Captcha, err = function.Captcha(cfg, true); err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	// The EMF lines go to the service log, as a function's go to its log
	// group: a file, or the terminal with Verbose. The metrics page counts
	// them either way.
	edge.Metrics = serviceLog
	handler, err := NewServer(svc.Flows, edge, log, opts.Stdout)
	if err != nil {
		return nil, fmt.Errorf("dev: %w", err)
	}
	d.server.Handler = handler
	d.ln = nil // the server closes it from here on
	go func() { d.served <- d.server.Serve(ln) }()

	d.PID = os.Getpid()
	if err := writeState(d.state, d.State); err != nil {
		return nil, err
	}
	return d, nil
}

// Clients are the service's AWS clients on the emulators at the given
// endpoints, with the static credentials they accept.
func Clients(dynamoDBEndpoint, sesEndpoint string) function.Clients {
	return function.ClientsAt(function.LocalConfig(), function.Endpoints{DynamoDB: dynamoDBEndpoint, SES: sesEndpoint})
}

// addDemo adds the demo account unless an account has its email already
// (a persisted database, whose demo password may have been reset).
func addDemo(ctx context.Context, store *dynamo.Store) (created bool, err error) {
	_, err = store.AccountByEmail(ctx, DemoEmail)
	switch {
	case err == nil:
		return false, nil
	case !errors.Is(err, reset.ErrUnknownAccount):
		return false, err
	}
	hasher, err := password.NewHasher(password.Argon2id)
	if err != nil {
		return false, err
	}
	hash, err := hasher.Hash(DemoPassword)
	if err != nil {
		return false, err
	}
	err = store.PutAccount(ctx, dynamo.NewAccount{
		ID: demoID, Email: DemoEmail, Username: DemoUsername, PasswordHash: hash, Verified: true, Enabled: true,
	})
	return err == nil, err
}

func (d *Dev) logFile(dir, name string) (io.Writer, error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dev: log file: %w", err)
	}
	d.closers = append(d.closers, f)
	return f, nil
}

// Done is closed, with the reason, when the API server stops by itself.
func (d *Dev) Done() <-chan error { return d.served }

// Stop shuts the API down gracefully (requests in flight finish, within
// ctx), stops the emulators and releases the lock. It is safe to call more
// than once.
func (d *Dev) Stop(ctx context.Context) error {
	if d.stopOnce {
		return nil
	}
	d.stopOnce = true
	var errs []error
	if d.server != nil && d.server.Handler != nil {
		if err := d.server.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("dev: stop the API: %w", err))
		}
	}
	if d.stack != nil {
		errs = append(errs, d.stack.Stop())
	}
	if d.PID != 0 {
		if err := os.Remove(d.state); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if d.ln != nil {
		d.ln.Close()
	}
	for _, c := range d.closers {
		c.Close()
	}
	if d.lock != nil {
		errs = append(errs, d.lock.release())
	}
	return errors.Join(errs...)
}
