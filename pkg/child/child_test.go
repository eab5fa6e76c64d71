//go:build unix

package child

import (
	"bufio"
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStop is a child that goes on SIGTERM: Stop returns well within the
// grace, and a second Stop is harmless.
func TestStop(t *testing.T) {
	p, err := Start(exec.Command("sleep", "60"))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	const grace = 3 * time.Second
	began := time.Now()
	if err := p.Stop(grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took >= grace {
		t.Errorf("Stop took %s, want less than the grace, %s", took, grace)
	}
	select {
	case <-p.Exited():
	default:
		t.Fatal("Exited not closed after Stop")
	}
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Errorf("Wait = %v, want the child terminated by SIGTERM", err)
	}
	if err := p.Stop(grace); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if p.StartedAt().IsZero() || p.StartedAt().After(began) {
		t.Errorf("StartedAt = %v, want a time before Stop began (%v)", p.StartedAt(), began)
	}
}

// TestStopKillsGroup is a child that ignores SIGTERM and has started a
// grandchild: Stop SIGKILLs both once the grace is up.
func TestStopKillsGroup(t *testing.T) {
	// The trap is inherited: the grandchild ignores SIGTERM too.
	cmd := exec.Command("/bin/sh", "-c", `trap "" TERM; sleep 60 & echo $!; wait`)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := Start(cmd)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		p.Stop(0)
		t.Fatalf("read the grandchild's pid: %v", err)
	}
	grandchild, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		p.Stop(0)
		t.Fatalf("grandchild pid %q: %v", line, err)
	}

	const grace = 200 * time.Millisecond
	began := time.Now()
	if err := p.Stop(grace); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if took := time.Since(began); took < grace {
		t.Errorf("Stop took %s, want at least the grace, %s: the child ignores SIGTERM", took, grace)
	}
	if err := p.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Wait = %v, want the child killed by SIGKILL", err)
	}
	if !gone(grandchild, 2*time.Second) {
		t.Errorf("grandchild %d still running after Stop", grandchild)
	}
	if err := syscall.Kill(-p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d after Stop: kill 0 = %v, want ESRCH", p.Pid(), err)
	}
}

// TestStartRejectsSysProcAttr: a caller's SysProcAttr would lose the
// process group, so Start refuses it rather than overwrite it.
func TestStartRejectsSysProcAttr(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if p, err := Start(cmd); err == nil {
		p.Stop(0)
		t.Fatal("Start with SysProcAttr set succeeded, want an error")
	}
}

// gone reports whether pid has exited and been reaped within d. An orphan
// is reaped by its reaper, which in a container may never do it; TestMain
// makes this test a subreaper on Linux, so the orphans of these tests are
// its own to reap.
func gone(pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		var ws syscall.WaitStatus
		if got, _ := syscall.Wait4(pid, &ws, syscall.WNOHANG, nil); got == pid {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
