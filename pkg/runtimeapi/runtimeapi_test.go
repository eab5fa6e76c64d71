package runtimeapi

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
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

// TestWaitReady times a cold start: exec to the first GET /next.
func TestWaitReady(t *testing.T) {
	t.Parallel()
	p := start(t, Function{Path: build(t, "echo")})
	d, err := p.WaitReady(t.Context())
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if d <= 0 || d > 30*time.Second {
		t.Errorf("init time %v, want a positive time under 30s", d)
	}
	// Asked again, it gives the same time: the first request's.
	if again, err := p.WaitReady(t.Context()); err != nil || again != d {
		t.Errorf("second WaitReady = %v, %v; want %v, nil", again, err, d)
	}
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
	if _, err := p.WaitReady(t.Context()); err != nil {
		t.Errorf("WaitReady after Stop: %v, want the init time it had", err)
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
	case <-q.proc.Exited():
	case <-time.After(5 * time.Second):
		t.Fatal("the bootstrap outlived its context")
	}
	if err := q.Stop(); err != nil {
		t.Errorf("Stop: %v", err)
	}
	checkGone(t, q)
}
