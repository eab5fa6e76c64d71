package runtimeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// build compiles the fixture testdata/<name> as a Lambda bootstrap, as the
// Makefile builds the functions but for the host, into <tmp>/<name>/bootstrap,
// so that the function's default name is the fixture's.
func build(t *testing.T, name string) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH: cannot build the test bootstraps")
	}
	out := filepath.Join(t.TempDir(), name, "bootstrap")
	cmd := exec.Command(goTool, "build", "-tags", "lambda.norpc", "-o", out, "./testdata/"+name)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/%s: %v\n%s", name, err, b)
	}
	return out
}

// start starts fn and stops it when the test ends.
func start(t *testing.T, fn Function) *Process {
	t.Helper()
	p, err := Start(t.Context(), fn)
	if err != nil {
		t.Fatalf("Start(%s): %v", fn.Path, err)
	}
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return p
}

// checkGone fails the test if the process or its group still exists.
func checkGone(t *testing.T, p *Process) {
	t.Helper()
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(%d, 0) = %v, want ESRCH: the bootstrap is still there", pid, err)
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill(-%d, 0) = %v, want ESRCH: its process group is still there", pid, err)
	}
}

func TestWarmInvocations(t *testing.T) {
	t.Parallel()
	p := start(t, Function{Path: build(t, "echo")})
	initTime, err := p.WaitReady(t.Context())
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if initTime <= 0 || initTime > 5*time.Second {
		t.Errorf("init duration %v, want between 0 and 5s", initTime)
	}
	t.Logf("init duration of the echo bootstrap: %v", initTime)
	pid := p.cmd.Process.Pid

	for _, event := range []string{`{"n":1}`, `{"n":2,"s":"warm"}`} {
		res, err := p.Invoke(t.Context(), []byte(event))
		if err != nil {
			t.Fatalf("Invoke(%s): %v", event, err)
		}
		if res.Error != nil {
			t.Fatalf("Invoke(%s): function error %v", event, res.Error)
		}
		if string(res.Response) != event {
			t.Errorf("Invoke(%s): got %s, want the event back", event, res.Response)
		}
		if res.Duration <= 0 {
			t.Errorf("Invoke(%s): duration %v, want > 0", event, res.Duration)
		}
		if p.cmd.Process.Pid != pid {
			t.Errorf("Invoke(%s) ran in pid %d, want the warm %d", event, p.cmd.Process.Pid, pid)
		}
	}
	if again, err := p.WaitReady(t.Context()); err != nil || again != initTime {
		t.Errorf("WaitReady again = %v, %v; want %v, nil", again, err, initTime)
	}
}

func TestFunctionError(t *testing.T) {
	t.Parallel()
	p := start(t, Function{Path: build(t, "fail")})
	// An error is an answer, not a crash: the process stays warm for the next.
	for i := range 2 {
		res, err := p.Invoke(t.Context(), []byte(`{}`))
		if err != nil {
			t.Fatalf("Invoke %d: %v", i, err)
		}
		if res.Error == nil {
			t.Fatalf("Invoke %d: got response %s, want a function error", i, res.Response)
		}
		if got, want := res.Error.ErrorType, "LockedError"; got != want {
			t.Errorf("Invoke %d: error type %q, want %q", i, got, want)
		}
		if got, want := res.Error.ErrorMessage, "account demo is locked"; got != want {
			t.Errorf("Invoke %d: error message %q, want %q", i, got, want)
		}
		if res.Response != nil {
			t.Errorf("Invoke %d: response %q alongside the error, want nil", i, res.Response)
		}
	}
}

func TestPanic(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	p := start(t, Function{Path: build(t, "panic"), Stderr: &stderr})
	res, err := p.Invoke(t.Context(), []byte(`{}`))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.Error == nil {
		t.Fatalf("got response %s, want a function error", res.Response)
	}
	if res.Error.ErrorType != "string" || res.Error.ErrorMessage != "boom" {
		t.Errorf("got %q: %q, want string: boom", res.Error.ErrorType, res.Error.ErrorMessage)
	}
	if len(res.Error.StackTrace) == 0 || !strings.Contains(strings.Join(res.Error.StackTrace, "\n"), "main.go:") {
		t.Errorf("stack trace %q, want frames in main.go", res.Error.StackTrace)
	}
	// aws-lambda-go exits after reporting a panic; this Process does not
	// start another.
	if res, err := p.Invoke(t.Context(), []byte(`{}`)); err == nil {
		t.Errorf("Invoke after the panic = %+v, nil; want an error", res)
	}
	checkGone(t, p)
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !strings.Contains(stderr.String(), "boom") {
		t.Errorf("stderr %q, want the panic logged", stderr.String())
	}
}

func TestTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	p := start(t, Function{Path: build(t, "sleep"), Timeout: timeout})
	res, err := p.Invoke(t.Context(), []byte(`{}`))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if res.Error == nil || res.Error.ErrorType != "Sandbox.Timedout" {
		t.Fatalf("got %+v, want a Sandbox.Timedout error", res)
	}
	if want := "Task timed out after 0.30 seconds"; res.Error.ErrorMessage != want {
		t.Errorf("message %q, want %q", res.Error.ErrorMessage, want)
	}
	if res.Duration < timeout-10*time.Millisecond {
		t.Errorf("duration %v, want about %v", res.Duration, timeout)
	}
	checkGone(t, p)
}

func TestInitCrash(t *testing.T) {
	t.Parallel()
	p := start(t, Function{Path: build(t, "initcrash")})
	_, err := p.WaitReady(t.Context())
	var fe *FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("WaitReady: %v, want a *FunctionError", err)
	}
	for _, want := range []string{"exited with status 1 before asking for an event", "config: TABLE_NAME is not set"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("WaitReady: %q, want it to contain %q", err, want)
		}
	}
	// Invoke reports a failed init as Lambda does: as the invocation's error.
	res, err := p.Invoke(t.Context(), []byte(`{}`))
	if err != nil || res.Error == nil || res.Error.ErrorType != "Runtime.ExitError" {
		t.Errorf("Invoke = %+v, %v; want a Runtime.ExitError result", res, err)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	p := start(t, Function{Path: build(t, "echo")})
	if _, err := p.WaitReady(t.Context()); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	checkGone(t, p)
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	if _, err := p.Invoke(t.Context(), []byte(`{}`)); !errors.Is(err, errStopped) {
		t.Errorf("Invoke after Stop: %v, want %v", err, errStopped)
	}
}

func TestContextStops(t *testing.T) {
	t.Parallel()
	path := build(t, "echo")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	q, err := Start(ctx, Function{Path: path})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if _, err := q.WaitReady(t.Context()); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	cancel()
	select {
	case <-q.exited:
	case <-time.After(killWait):
		t.Fatal("the bootstrap outlived its context")
	}
	if err := q.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	checkGone(t, q)
}

// TestEnv is not parallel: it sets a variable in the test's own
// environment to see that the bootstrap does not inherit it.
func TestEnv(t *testing.T) {
	t.Setenv("RUNTIMEAPI_TEST_CALLER_ONLY", "leaked")
	p := start(t, Function{
		Path:    build(t, "env"),
		Timeout: 3 * time.Second,
		Env:     []string{"PASSRESET_GREETING=hello", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:1"},
	})
	type reply struct {
		Value        string `json:"value"`
		Set          bool   `json:"set"`
		FunctionName string `json:"functionName"`
		RequestID    string `json:"requestId"`
		FunctionARN  string `json:"functionArn"`
		DeadlineInMS int64  `json:"deadlineInMs"`
	}
	get := func(name string) reply {
		t.Helper()
		res, err := p.Invoke(t.Context(), []byte(`{"name":"`+name+`"}`))
		if err != nil || res.Error != nil {
			t.Fatalf("Invoke(%s) = %+v, %v", name, res, err)
		}
		var r reply
		if err := json.Unmarshal(res.Response, &r); err != nil {
			t.Fatalf("Invoke(%s): %s: %v", name, res.Response, err)
		}
		return r
	}

	tests := []struct {
		name      string
		wantValue string
		wantSet   bool
	}{
		{"PASSRESET_GREETING", "hello", true},
		{"RUNTIMEAPI_TEST_CALLER_ONLY", "", false},
		{"AWS_LAMBDA_FUNCTION_NAME", "env", true},
		{"AWS_LAMBDA_FUNCTION_VERSION", "$LATEST", true},
		{"AWS_REGION", "us-east-1", true},
		{"_HANDLER", "bootstrap", true},
		{"LAMBDA_TASK_ROOT", filepath.Dir(p.fn.Path), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := get(tt.name); r.Value != tt.wantValue || r.Set != tt.wantSet {
				t.Errorf("%s = %q (set %v), want %q (set %v)", tt.name, r.Value, r.Set, tt.wantValue, tt.wantSet)
			}
		})
	}

	r := get("PASSRESET_GREETING")
	if want := "arn:aws:lambda:us-east-1:000000000000:function:env"; r.FunctionARN != want {
		t.Errorf("invoked function ARN %q, want %q", r.FunctionARN, want)
	}
	if r.FunctionName != "env" {
		t.Errorf("lambdacontext.FunctionName %q, want env", r.FunctionName)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(r.RequestID) {
		t.Errorf("request id %q, want a UUID", r.RequestID)
	}
	if r.DeadlineInMS <= 0 || r.DeadlineInMS > 3000 {
		t.Errorf("deadline in %dms, want within the 3s timeout", r.DeadlineInMS)
	}
}

func TestInvokeOnce(t *testing.T) {
	t.Parallel()
	fn := Function{Path: build(t, "echo"), Name: "otp-create"}
	res, err := Invoke(t.Context(), fn, []byte(`"once"`))
	if err != nil || res.Error != nil || string(res.Response) != `"once"` {
		t.Errorf("Invoke = %+v, %v; want the event back", res, err)
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		header string
		want   FunctionError
	}{
		{
			name: "aws-lambda-go",
			body: `{"errorMessage":"boom","errorType":"string","stackTrace":[{"path":"main.go","line":12,"label":"main.handler"}]}`,
			want: FunctionError{ErrorType: "string", ErrorMessage: "boom", StackTrace: []string{"main.handler (main.go:12)"}},
		},
		{
			name: "string frames",
			body: `{"errorMessage":"x","errorType":"Error","stackTrace":["at f (index.js:1)"]}`,
			want: FunctionError{ErrorType: "Error", ErrorMessage: "x", StackTrace: []string{"at f (index.js:1)"}},
		},
		{
			name:   "type in the header",
			body:   `{"errorMessage":"no config"}`,
			header: "Runtime.ConfigError",
			want:   FunctionError{ErrorType: "Runtime.ConfigError", ErrorMessage: "no config"},
		},
		{
			name: "not JSON",
			body: "it broke",
			want: FunctionError{ErrorType: "Runtime.Unknown", ErrorMessage: "it broke"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseError([]byte(tt.body), tt.header)
			if got.ErrorType != tt.want.ErrorType || got.ErrorMessage != tt.want.ErrorMessage ||
				strings.Join(got.StackTrace, "|") != strings.Join(tt.want.StackTrace, "|") {
				t.Errorf("parseError(%q, %q) = %+v, want %+v", tt.body, tt.header, *got, tt.want)
			}
		})
	}
}
