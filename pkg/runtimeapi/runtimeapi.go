// Package runtimeapi times a Lambda bootstrap's cold start on this machine,
// for cmd/bench: from exec to the bootstrap's first request for an event
// (GET /2018-06-01/runtime/invocation/next), Lambda's "Init Duration". The
// bootstrap is an ordinary child process built for the host; the API is a
// net/http server on 127.0.0.1 whose address the bootstrap finds in
// AWS_LAMBDA_RUNTIME_API.
//
// It serves only what a cold start calls: /runtime/invocation/next, which
// never hands out an event, and /runtime/init/error. Invoking a function is
// passreset invoke's job, on AWS's Runtime Interface Emulator, which starts
// the bootstrap only at the first invocation and reports the init time in
// hundredths of a millisecond, around its own set-up; hence this package.
//
// The bootstrap runs in its own process group, so the package is for Unix.
package runtimeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/passreset/passreset/pkg/child"
)

const (
	apiVersion = "2018-06-01"

	// maxPayload is Lambda's limit on what a runtime posts.
	maxPayload = 6 << 20

	defaultRegion = "us-east-1"
	defaultMemory = "128" // MB, Lambda's default; Env may say otherwise

	// stderrLines is how many of the bootstrap's last stderr lines an
	// error quotes.
	stderrLines = 10
)

var errStopped = errors.New("runtimeapi: process stopped")

// Function is a bootstrap to run.
type Function struct {
	// Path is the bootstrap executable, built for the host's OS and
	// architecture (not for Lambda's).
	Path string
	// Env is extra environment, "K=V". The bootstrap gets only the
	// variables Lambda sets (AWS_LAMBDA_FUNCTION_NAME, AWS_REGION,
	// LAMBDA_TASK_ROOT, _HANDLER, ...), the caller's PATH and HOME, and
	// Env, which may override any of them but AWS_LAMBDA_RUNTIME_API. It
	// does not inherit the caller's whole environment.
	Env []string
	// Stderr receives the bootstrap's stderr; nil discards it, as it does
	// the bootstrap's stdout.
	Stderr io.Writer
}

// FunctionError is an init failure as Lambda reports it: what the runtime
// posted to /init/error, or Runtime.ExitError for a bootstrap that exited.
type FunctionError struct {
	ErrorType    string
	ErrorMessage string
}

// Error returns the type and the message.
func (e *FunctionError) Error() string {
	if e.ErrorType == "" {
		return e.ErrorMessage
	}
	return e.ErrorType + ": " + e.ErrorMessage
}

// Process is a running bootstrap with its own Runtime API server on
// 127.0.0.1, on a free port.
type Process struct {
	name   string // AWS_LAMBDA_FUNCTION_NAME
	cmd    *exec.Cmd
	proc   *child.Process
	srv    *http.Server
	served chan error // Serve's result
	stderr *tail

	stopping chan struct{} // closed by Stop

	readyOnce sync.Once
	ready     chan struct{} // closed at the first /next
	initTime  time.Duration // set before ready closes

	initFailOnce sync.Once
	initFailed   chan struct{}  // closed when the bootstrap posts /init/error
	initErr      *FunctionError // set before initFailed closes

	mu        sync.Mutex
	stopAfter func() bool // undoes the context.AfterFunc that calls Stop

	stopOnce sync.Once
	stopErr  error
}

// Start starts the Runtime API server, then execs the bootstrap, and returns
// without waiting for it to initialize (see WaitReady). Cancelling ctx stops
// the process as Stop does; the caller must call Stop in any case.
func Start(ctx context.Context, fn Function) (*Process, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("runtimeapi: start: %w", err)
	}
	if fn.Path == "" {
		return nil, errors.New("runtimeapi: start: no bootstrap path")
	}
	path, err := filepath.Abs(fn.Path)
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: start %s: %w", fn.Path, err)
	}
	fn.Path = path
	name := filepath.Base(filepath.Dir(path)) // as in bin/otp-create/bootstrap
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: start %s: listen: %w", name, err)
	}

	env := environ(fn, name, ln.Addr().String())
	p := &Process{
		name:       name,
		served:     make(chan error, 1),
		stderr:     &tail{},
		stopping:   make(chan struct{}),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+apiVersion+"/runtime/invocation/next", p.next)
	mux.HandleFunc("POST /"+apiVersion+"/runtime/init/error", p.initError)
	// No WriteTimeout: /next waits as long as there is no event.
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	p.cmd = exec.Command(path)
	p.cmd.Dir = filepath.Dir(path) // Lambda runs the bootstrap in LAMBDA_TASK_ROOT
	p.cmd.Env = env
	p.cmd.Stderr = p.stderr
	if fn.Stderr != nil {
		p.cmd.Stderr = io.MultiWriter(p.stderr, fn.Stderr)
	}
	// Init time runs from proc.StartedAt, taken just before the fork.
	// Wait's error says no more than ProcessState, which describeExit
	// reads.
	p.proc, err = child.Start(p.cmd)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("runtimeapi: start %s: %w", name, err)
	}
	// Serving begins after exec so that p.proc is set before any handler
	// reads it; the kernel queues the bootstrap's first connection
	// meanwhile.
	go func() { p.served <- p.srv.Serve(ln) }()
	// Stop's error is the caller's to see, from its own call to Stop.
	stopAfter := context.AfterFunc(ctx, func() { p.Stop() })
	p.mu.Lock()
	p.stopAfter = stopAfter
	p.mu.Unlock()
	return p, nil
}

// environ is the bootstrap's environment.
func environ(fn Function, name, api string) []string {
	region := defaultRegion
	for _, kv := range fn.Env {
		if v, ok := strings.CutPrefix(kv, "AWS_REGION="); ok && v != "" {
			region = v
		}
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + defaultMemory,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"LAMBDA_TASK_ROOT=" + filepath.Dir(fn.Path),
		"_HANDLER=" + filepath.Base(fn.Path),
	}
	env = append(env, fn.Env...)
	// Last, so that Env cannot point the bootstrap elsewhere (exec keeps
	// the last of duplicate keys).
	return append(env, "AWS_LAMBDA_RUNTIME_API="+api)
}

// WaitReady blocks until the bootstrap first asks for an event (GET
// /runtime/invocation/next) and returns its init time: from exec to that
// request, the cold start's "Init Duration". It fails with a
// *FunctionError when the bootstrap posts /init/error or exits first, and
// with ctx's error when ctx ends first.
func (p *Process) WaitReady(ctx context.Context) (time.Duration, error) {
	select {
	case <-p.ready:
		return p.initTime, nil
	default:
	}
	select {
	case <-p.ready:
		return p.initTime, nil
	case <-p.initFailed:
		return 0, p.initErr
	case <-p.proc.Exited():
		select {
		case <-p.initFailed:
			return 0, p.initErr
		case <-p.stopping:
			return 0, errStopped
		default:
		}
		return 0, &FunctionError{
			ErrorType:    "Runtime.ExitError",
			ErrorMessage: fmt.Sprintf("bootstrap %s before asking for an event%s", p.describeExit(), p.stderrSuffix()),
		}
	case <-p.stopping:
		return 0, errStopped
	case <-ctx.Done():
		return 0, fmt.Errorf("runtimeapi: wait for %s to initialize: %w", p.name, ctx.Err())
	}
}

// Stop kills the bootstrap's process group and closes the server. It is
// safe to call more than once, and from several goroutines.
func (p *Process) Stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.stop() })
	return p.stopErr
}

func (p *Process) stop() error {
	p.mu.Lock()
	stopAfter := p.stopAfter // nil when ctx ended before Start had set it
	p.mu.Unlock()
	if stopAfter != nil {
		stopAfter()
	}
	close(p.stopping) // releases the /next still waiting
	var errs []error
	// No grace: the bootstrap has nothing to save, and a cold start's
	// measure is over.
	if err := p.proc.Stop(0); err != nil {
		errs = append(errs, err)
	}
	if err := p.srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close the server: %w", err))
	}
	if err := <-p.served; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runtimeapi: stop %s: %w", p.name, err)
	}
	return nil
}

// describeExit says how the bootstrap ended; call it once p.proc has exited.
func (p *Process) describeExit() string {
	ps := p.cmd.ProcessState
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	}
	return fmt.Sprintf("exited with status %d", ps.ExitCode())
}

// stderrSuffix quotes the bootstrap's last lines on stderr, for an error.
func (p *Process) stderrSuffix() string {
	lines := p.stderr.lastLines(stderrLines)
	if len(lines) == 0 {
		return " (nothing on stderr)"
	}
	return ": " + strings.Join(lines, "\n")
}

// next is GET /runtime/invocation/next: the bootstrap has initialized and
// waits for an event, which never comes; Stop ends the wait.
func (p *Process) next(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.initFailed:
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "the runtime has reported an init error")
		return
	default:
	}
	p.readyOnce.Do(func() {
		p.initTime = time.Since(p.proc.StartedAt())
		close(p.ready)
	})
	select {
	case <-p.stopping:
		apiError(w, http.StatusInternalServerError, "Runtime.Stopped", "the process is stopping")
	case <-r.Context().Done():
	}
}

// initError is POST /runtime/init/error: the runtime could not start. The
// error stays the Process's answer to WaitReady.
func (p *Process) initError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.ready:
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "the runtime has already asked for an event")
		return
	default:
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "read the error: "+err.Error())
		return
	}
	var e struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		e.ErrorMessage = string(body)
	}
	fe := &FunctionError{ErrorType: e.ErrorType, ErrorMessage: e.ErrorMessage}
	if fe.ErrorType == "" {
		fe.ErrorType = r.Header.Get("Lambda-Runtime-Function-Error-Type")
	}
	p.initFailOnce.Do(func() {
		p.initErr = fe
		close(p.initFailed)
	})
	// The Runtime API's 202, which aws-lambda-go requires.
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// apiError answers with the Runtime API's ErrorResponse.
func apiError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errorType})
}

// randomHex is n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24 and later)
	return hex.EncodeToString(b)
}
