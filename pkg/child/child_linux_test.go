package child

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envRole makes the test binary, re-executed by TestParentDeath, play the
// parent that dies.
const envRole = "CHILD_TEST_ROLE"

// prSetChildSubreaper is PR_SET_CHILD_SUBREAPER (prctl(2)).
const prSetChildSubreaper = 36

func TestMain(m *testing.M) {
	if os.Getenv(envRole) == "parent" {
		os.Exit(dyingParent())
	}
	// Orphans come to this process rather than to PID 1, which in a
	// container may not reap them; see gone.
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintf(os.Stderr, "prctl(PR_SET_CHILD_SUBREAPER): %v\n", errno)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

// dyingParent starts a child from a goroutine whose thread then ends, as
// a goroutine's does when it returns still locked to it, ends a few more
// threads so, prints the child's pid and waits to be killed. Had the child
// been forked on one of those threads, it would die with it (Pdeathsig).
func dyingParent() int {
	// The main thread is never ended, only parked (runtime.LockOSThread),
	// so keep the goroutines below off it.
	runtime.LockOSThread()
	type result struct {
		p   *Process
		err error
	}
	started := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		p, err := Start(exec.Command("sleep", "60"))
		started <- result{p, err}
	}()
	r := <-started
	if r.err != nil {
		fmt.Fprintln(os.Stderr, r.err)
		return 1
	}
	for range 20 {
		done := make(chan struct{})
		go func() {
			runtime.LockOSThread()
			close(done)
		}()
		<-done
	}
	fmt.Println(r.p.Pid())
	time.Sleep(time.Minute)
	return 0
}

// TestParentDeath kills a parent with SIGKILL, so that it cannot call Stop:
// the kernel kills its child.
func TestParentDeath(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), envRole+"=parent")
	parent.Stderr = os.Stderr
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer parent.Wait()
	defer parent.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read the child's pid: %v", err)
	}
	child, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child pid %q: %v", line, err)
	}
	// Reaped if the test fails.
	defer syscall.Kill(-child, syscall.SIGKILL)

	if gone(child, 100*time.Millisecond) {
		t.Fatalf("child %d died with the parent still running: the forking thread ended", child)
	}
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !gone(child, 2*time.Second) {
		t.Errorf("child %d still running 2s after its parent was killed", child)
	}
}
