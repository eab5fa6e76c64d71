package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/passreset/passreset/pkg/child"
)

// rieTool is AWS's Lambda Runtime Interface Emulator, a tool dependency of
// go.mod: the Runtime API that sam local invoke runs in its containers.
const rieTool = "aws-lambda-rie"

// rieInvocations is the RIE's one route: Lambda's Invoke API for its one
// function.
const rieInvocations = "/2015-03-31/functions/function/invocations"

// rieStopGrace is how long the RIE gets to exit on SIGTERM, on which it
// SIGKILLs the bootstrap, before it is SIGKILLed itself.
const rieStopGrace = 5 * time.Second

// rieRun is one bootstrap to invoke once under the RIE.
type rieRun struct {
	bootstrap string   // built for this machine
	name      string   // AWS_LAMBDA_FUNCTION_NAME
	env       []string // the function's environment, "K=V"
	timeout   time.Duration
}

// rieResult is one invocation's outcome.
type rieResult struct {
	response []byte
	// failure is the error the function reported (or its timeout), as the
	// RIE answers it; empty when the function answered.
	failure  string
	duration time.Duration // the invocation request's round trip, init included
}

// runRIE starts the RIE on two free loopback ports, its Invoke API and the
// Runtime API the bootstrap talks to, invokes the function once with
// event, and stops the RIE, which kills the bootstrap. The RIE's and the
// function's output go to c.stderr.
func (c cli) runRIE(ctx context.Context, r rieRun, event []byte) (_ rieResult, err error) {
	rie, err := c.rieBinary(ctx)
	if err != nil {
		return rieResult{}, err
	}
	bootstrap, err := filepath.Abs(r.bootstrap)
	if err != nil {
		return rieResult{}, err
	}
	ports, err := freePorts(2)
	if err != nil {
		return rieResult{}, fmt.Errorf("runtime interface emulator: %w", err)
	}
	invokeAddr, runtimeAddr := ports[0], ports[1]
	// The RIE takes whole seconds, and hands its whole environment to the
	// bootstrap: it gets only what Lambda would set, and r.env.
	seconds := max(1, int(math.Ceil(r.timeout.Seconds())))
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + os.Getenv("HOME"),
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"AWS_LAMBDA_FUNCTION_NAME=" + r.name,
		"AWS_LAMBDA_FUNCTION_TIMEOUT=" + strconv.Itoa(seconds),
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128",
		"LAMBDA_TASK_ROOT=" + filepath.Dir(bootstrap),
	}
	cmd := exec.Command(rie,
		"--log-level", "warn",
		"--runtime-interface-emulator-address", invokeAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap) // the RIE runs the bootstrap here, as Lambda does in LAMBDA_TASK_ROOT
	cmd.Env = append(env, r.env...)
	cmd.Stdout, cmd.Stderr = c.stderr, c.stderr
	// The RIE starts the bootstrap in a process group of its own and
	// without a parent-death signal: stopping the RIE's group stops the
	// bootstrap only because the RIE kills it on SIGTERM, and an RIE killed
	// by the kernel leaves it to exit when its Runtime API connection breaks.
	proc, err := child.Start(cmd)
	if err != nil {
		return rieResult{}, fmt.Errorf("runtime interface emulator: %w", err)
	}
	defer func() {
		if stopErr := proc.Stop(rieStopGrace); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("runtime interface emulator: stop: %w", stopErr))
		}
	}()

	if err := awaitListening(ctx, invokeAddr, proc); err != nil {
		return rieResult{}, fmt.Errorf("runtime interface emulator: %w", err)
	}
	// The RIE times the invocation out itself; this bound is for an RIE
	// that hangs, with room for the cold start.
	ctx, cancel := context.WithTimeout(ctx, r.timeout+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+invokeAddr+rieInvocations, bytes.NewReader(event))
	if err != nil {
		return rieResult{}, err
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return rieResult{}, fmt.Errorf("runtime interface emulator: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return rieResult{}, fmt.Errorf("runtime interface emulator: read the response: %w", err)
	}
	res := rieResult{duration: time.Since(start)}
	if resp.StatusCode != http.StatusOK {
		// The RIE answers a bootstrap that crashed or failed its init
		// with a 502 and the error, if it has one.
		return rieResult{}, fmt.Errorf("runtime interface emulator: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	if msg, failed := functionError(body); failed {
		res.failure = msg
		return res, nil
	}
	res.response = body
	return res, nil
}

// functionError reports whether body, a 200 from the RIE, is no answer of
// the function's but its error: the RIE answers a function's error and its
// timeout with a 200 too, and the error's JSON or its own sentence as the
// body.
func functionError(body []byte) (string, bool) {
	if bytes.HasPrefix(body, []byte("Task timed out after ")) {
		return "Sandbox.Timedout: " + string(body), true
	}
	var e struct {
		ErrorType    *string `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	if json.Unmarshal(body, &e) != nil || e.ErrorType == nil || e.ErrorMessage == nil {
		return "", false
	}
	return *e.ErrorType + ": " + *e.ErrorMessage, true
}

// rieBinary builds the RIE, the tool dependency of go.mod, and returns its
// path in the build cache. It is run directly, not through go tool, so
// that stopping it stops the RIE itself.
func (c cli) rieBinary(ctx context.Context) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", fmt.Errorf("runtime interface emulator: %w", err)
	}
	cmd := exec.CommandContext(ctx, "go", "tool", "-n", rieTool)
	cmd.Dir = root
	cmd.Stderr = c.stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("runtime interface emulator: go tool -n %s: %w", rieTool, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// freePorts returns n distinct free addresses on 127.0.0.1. Another
// program may take one before the RIE binds it; the RIE then exits, and
// awaitListening says so.
func freePorts(n int) ([]string, error) {
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

// awaitListening waits until addr accepts connections, the RIE exits, or
// 10 seconds pass.
func awaitListening(ctx context.Context, addr string, rie *child.Process) error {
	deadline := time.After(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-rie.Exited():
			return fmt.Errorf("exited before listening on %s: %v", addr, rie.Wait())
		case <-deadline:
			return fmt.Errorf("not listening on %s after 10s", addr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}
