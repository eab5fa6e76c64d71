// Package runtimeapi runs a Lambda bootstrap on this machine behind its own
// implementation of the Lambda Runtime API (version 2018-06-01), as
// `sam local invoke` does, but without Docker: the bootstrap is an ordinary
// child process built for the host, and the API is a net/http server on
// 127.0.0.1 whose address the bootstrap finds in AWS_LAMBDA_RUNTIME_API.
//
// It serves what a runtime such as aws-lambda-go calls:
//
//	GET  /2018-06-01/runtime/invocation/next
//	POST /2018-06-01/runtime/invocation/{id}/response
//	POST /2018-06-01/runtime/invocation/{id}/error
//	POST /2018-06-01/runtime/init/error
//
// and none of the Extensions, Telemetry or response-streaming APIs.
//
// Like one Lambda execution environment, a Process runs one invocation at a
// time, kills the bootstrap when an invocation passes its deadline, and
// reuses the warm process for the next invocation. Unlike Lambda it never
// starts a new one: once the bootstrap has exited (a timeout, a panic), the
// Process stays dead and its next Invoke fails.
//
// The bootstrap runs in its own process group, so the package is for Unix.
package runtimeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	apiVersion = "2018-06-01"

	// maxPayload is Lambda's limit on a synchronous invocation's response.
	maxPayload = 6 << 20

	defaultTimeout = 10 * time.Second
	defaultRegion  = "us-east-1"
	defaultMemory  = "128" // MB, Lambda's default; Env may say otherwise
	accountID      = "000000000000"

	// killWait bounds the wait for a SIGKILLed bootstrap to be reaped.
	killWait = 5 * time.Second

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
	// Name is the function's name (AWS_LAMBDA_FUNCTION_NAME, and the last
	// part of the invoked function ARN). By default it is the base name of
	// the directory holding Path, as in bin/otp-create/bootstrap.
	Name string
	// Env is extra environment, "K=V". The bootstrap gets only the
	// variables Lambda sets (AWS_LAMBDA_FUNCTION_NAME, AWS_REGION,
	// LAMBDA_TASK_ROOT, _HANDLER, ...), the caller's PATH and HOME, and
	// Env, which may override any of them but AWS_LAMBDA_RUNTIME_API. It
	// does not inherit the caller's whole environment, so credentials and
	// endpoints reach it only when passed here.
	Env []string
	// Timeout is each invocation's deadline (Lambda-Runtime-Deadline-Ms),
	// counted from when Invoke hands the event over; 10s by default.
	Timeout time.Duration
	// Stdout and Stderr receive the bootstrap's output; nil discards it.
	Stdout, Stderr io.Writer
}

// Result is one invocation's outcome.
type Result struct {
	// Response is the body the function posted to /response; nil when
	// Error is set.
	Response []byte
	// Error is what the function posted to /error or /init/error, or a
	// crash or timeout described the same way, as Lambda reports them.
	Error *FunctionError
	// Duration runs from handing out the event to receiving the answer.
	Duration time.Duration
}

// FunctionError is a function's error as the Runtime API carries it. Types
// this package gives itself follow Lambda's: Runtime.ExitError for a
// bootstrap that exited, Sandbox.Timedout for a deadline passed,
// Function.ResponseSizeTooLarge for a response over 6 MB.
type FunctionError struct {
	ErrorType    string
	ErrorMessage string
	StackTrace   []string
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
	fn     Function
	arn    string
	cmd    *exec.Cmd
	srv    *http.Server
	served chan error // Serve's result
	stderr *tail
	execAt time.Time // just before exec

	// events hands an invocation to a waiting /next. It is unbuffered, so
	// a completed send is a completed hand-off.
	events   chan *invocation
	stopping chan struct{} // closed by Stop

	readyOnce sync.Once
	ready     chan struct{} // closed at the first /next
	initTime  time.Duration // set before ready closes

	initFailOnce sync.Once
	initFailed   chan struct{}  // closed when the bootstrap posts /init/error
	initErr      *FunctionError // set before initFailed closes

	exited chan struct{} // closed once the bootstrap has been reaped

	invokeMu sync.Mutex // one invocation at a time, as in one Lambda environment

	mu        sync.Mutex
	pending   map[string]*invocation // by request id, until answered or abandoned
	stopAfter func() bool            // undoes the context.AfterFunc that calls Stop

	stopOnce sync.Once
	stopErr  error
}

// invocation is one event on its way through the Runtime API.
type invocation struct {
	id       string
	event    []byte
	deadline time.Time
	done     chan answer // buffered: the handler never waits for Invoke
}

// answer is what the bootstrap posted for an invocation, and when.
type answer struct {
	result Result
	at     time.Time
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
	if fn.Name == "" {
		fn.Name = filepath.Base(filepath.Dir(path))
	}
	if fn.Timeout <= 0 {
		fn.Timeout = defaultTimeout
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("runtimeapi: start %s: listen: %w", fn.Name, err)
	}

	env, region := environ(fn, ln.Addr().String())
	p := &Process{
		fn:         fn,
		arn:        fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", region, accountID, fn.Name),
		served:     make(chan error, 1),
		stderr:     &tail{},
		events:     make(chan *invocation),
		stopping:   make(chan struct{}),
		ready:      make(chan struct{}),
		initFailed: make(chan struct{}),
		exited:     make(chan struct{}),
		pending:    map[string]*invocation{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+apiVersion+"/runtime/invocation/next", p.next)
	mux.HandleFunc("POST /"+apiVersion+"/runtime/invocation/{id}/response", p.response)
	mux.HandleFunc("POST /"+apiVersion+"/runtime/invocation/{id}/error", p.invocationError)
	mux.HandleFunc("POST /"+apiVersion+"/runtime/init/error", p.initError)
	// No WriteTimeout: /next waits as long as there is no event.
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}

	p.cmd = exec.Command(path)
	p.cmd.Dir = filepath.Dir(path) // Lambda runs the bootstrap in LAMBDA_TASK_ROOT
	p.cmd.Env = env
	p.cmd.Stdout = fn.Stdout
	p.cmd.Stderr = p.stderr
	if fn.Stderr != nil {
		p.cmd.Stderr = io.MultiWriter(p.stderr, fn.Stderr)
	}
	p.cmd.SysProcAttr = sysProcAttr()
	// The output copiers end when every holder of the pipes has exited; a
	// stray grandchild must not keep Wait from returning.
	p.cmd.WaitDelay = time.Second

	started := make(chan error, 1)
	go func() {
		// Linux delivers Pdeathsig when the thread that forked the child
		// exits, not the process (prctl(2), golang/go#27505), and Go ends
		// a thread when a goroutine locked to it returns. Keeping the
		// forking thread locked until the child is reaped means no other
		// goroutine runs on it and takes the child down with it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		p.execAt = time.Now()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		// Wait's error says no more than ProcessState, which
		// describeExit reads.
		p.cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		ln.Close()
		return nil, fmt.Errorf("runtimeapi: start %s: %w", fn.Name, err)
	}
	// Serving begins after exec so that execAt is written before any
	// handler reads it; the kernel queues the bootstrap's first
	// connection meanwhile.
	go func() { p.served <- p.srv.Serve(ln) }()
	// Stop's error is the caller's to see, from its own call to Stop.
	stopAfter := context.AfterFunc(ctx, func() { p.Stop() })
	p.mu.Lock()
	p.stopAfter = stopAfter
	p.mu.Unlock()
	return p, nil
}

// environ is the bootstrap's environment, and the region in it.
func environ(fn Function, api string) ([]string, string) {
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
		"AWS_LAMBDA_FUNCTION_NAME=" + fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + defaultMemory,
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME=" + time.Now().UTC().Format("2006/01/02") + "/[$LATEST]" + randomHex(16),
		"LAMBDA_TASK_ROOT=" + filepath.Dir(fn.Path),
		"_HANDLER=" + filepath.Base(fn.Path),
	}
	env = append(env, fn.Env...)
	// Last, so that Env cannot point the bootstrap elsewhere (exec keeps
	// the last of duplicate keys).
	return append(env, "AWS_LAMBDA_RUNTIME_API="+api), region
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
	case <-p.exited:
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
		return 0, fmt.Errorf("runtimeapi: wait for %s to initialize: %w", p.fn.Name, ctx.Err())
	}
}

// Invoke hands event to the bootstrap's next request for one and waits for
// its answer. It waits for initialization first; an init that fails is the
// Result's Error, as Lambda reports it. So are an error the function
// posts, a bootstrap that exits during the invocation, and a deadline
// passed, after which the process is killed, as Lambda kills it. Invoke
// returns an error only when it could not run the invocation: the process
// was stopped or had already exited, or ctx ended (which kills the
// process too, since a running handler cannot be called back). Calls are
// serialized; sequential calls reuse the warm process.
func (p *Process) Invoke(ctx context.Context, event []byte) (Result, error) {
	p.invokeMu.Lock()
	defer p.invokeMu.Unlock()
	select {
	case <-p.stopping:
		return Result{}, errStopped
	default:
	}
	if _, err := p.WaitReady(ctx); err != nil {
		var fe *FunctionError
		if errors.As(err, &fe) {
			return Result{Error: fe}, nil
		}
		return Result{}, err
	}
	select {
	case <-p.exited:
		return Result{}, fmt.Errorf("runtimeapi: invoke %s: the bootstrap %s after an earlier invocation", p.fn.Name, p.describeExit())
	default:
	}

	inv := &invocation{
		id:       newRequestID(),
		event:    event,
		deadline: time.Now().Add(p.fn.Timeout),
		done:     make(chan answer, 1),
	}
	p.mu.Lock()
	p.pending[inv.id] = inv
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.pending, inv.id)
		p.mu.Unlock()
	}()
	timer := time.NewTimer(time.Until(inv.deadline))
	defer timer.Stop()

	// A bootstrap that does not come back for the event (stuck after the
	// previous one) times out like one that does not answer it.
	start := time.Now()
	select {
	case p.events <- inv:
	case <-timer.C:
		return p.timedOut(start)
	case <-p.exited:
		return Result{}, fmt.Errorf("runtimeapi: invoke %s: the bootstrap %s before taking the event%s", p.fn.Name, p.describeExit(), p.stderrSuffix())
	case <-p.stopping:
		return Result{}, errStopped
	case <-ctx.Done():
		return Result{}, fmt.Errorf("runtimeapi: invoke %s: %w", p.fn.Name, ctx.Err())
	}

	handedOut := time.Now()
	select {
	case a := <-inv.done:
		return p.answered(a, handedOut), nil
	case <-p.exited:
		// A panicking aws-lambda-go posts /error, then exits: the answer,
		// if any, came first.
		select {
		case a := <-inv.done:
			return p.answered(a, handedOut), nil
		default:
		}
		return Result{
			Error: &FunctionError{
				ErrorType:    "Runtime.ExitError",
				ErrorMessage: fmt.Sprintf("bootstrap %s during the invocation%s", p.describeExit(), p.stderrSuffix()),
			},
			Duration: time.Since(handedOut),
		}, nil
	case <-timer.C:
		select {
		case a := <-inv.done:
			return p.answered(a, handedOut), nil
		default:
		}
		return p.timedOut(handedOut)
	case <-p.stopping:
		return Result{}, errStopped
	case <-ctx.Done():
		if err := p.kill(); err != nil {
			return Result{}, fmt.Errorf("runtimeapi: invoke %s: %w (and %w)", p.fn.Name, ctx.Err(), err)
		}
		return Result{}, fmt.Errorf("runtimeapi: invoke %s: %w", p.fn.Name, ctx.Err())
	}
}

func (p *Process) answered(a answer, handedOut time.Time) Result {
	a.result.Duration = a.at.Sub(handedOut)
	return a.result
}

// timedOut kills the bootstrap, as Lambda does when an invocation passes
// its deadline, and reports it in Lambda's words.
func (p *Process) timedOut(since time.Time) (Result, error) {
	if err := p.kill(); err != nil {
		return Result{}, fmt.Errorf("runtimeapi: invoke %s: timed out: %w", p.fn.Name, err)
	}
	return Result{
		Error: &FunctionError{
			ErrorType:    "Sandbox.Timedout",
			ErrorMessage: fmt.Sprintf("Task timed out after %.2f seconds", p.fn.Timeout.Seconds()),
		},
		Duration: time.Since(since),
	}, nil
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
	close(p.stopping) // releases any /next still waiting
	var errs []error
	if err := p.kill(); err != nil {
		errs = append(errs, err)
	}
	if err := p.srv.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close the server: %w", err))
	}
	if err := <-p.served; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("serve: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("runtimeapi: stop %s: %w", p.fn.Name, err)
	}
	return nil
}

// kill SIGKILLs the bootstrap's process group and waits for the bootstrap
// to be reaped. The group is signalled even when the bootstrap has already
// exited, for anything it started.
func (p *Process) kill() error {
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", pid, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("process %d did not exit after SIGKILL", pid)
	}
}

// describeExit says how the bootstrap ended; call it once exited is closed.
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

// Invoke starts fn, invokes it once with event, and stops it.
func Invoke(ctx context.Context, fn Function, event []byte) (Result, error) {
	p, err := Start(ctx, fn)
	if err != nil {
		return Result{}, err
	}
	res, invokeErr := p.Invoke(ctx, event)
	stopErr := p.Stop()
	if invokeErr != nil {
		return res, invokeErr
	}
	return res, stopErr
}
