package emulator

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"
)

// stopGrace is how long a child gets to exit on SIGTERM before SIGKILL.
// DynamoDB Local with a data directory closes its SQLite files on the way
// out; in memory it has nothing to save.
const stopGrace = 5 * time.Second

// process is one running emulator.
type process struct {
	cmd      *exec.Cmd
	endpoint string
	tail     *tailBuffer   // the last lines it printed, for errors
	exited   chan struct{} // closed once Wait has returned
	waitErr  error         // Wait's result, set before exited closes

	stopOnce sync.Once
	stopErr  error
}

// startProcess runs argv in its own process group, copying its output to
// out and to a tail kept for error messages.
func startProcess(argv []string, out io.Writer) (*process, error) {
	p := &process{
		tail:   &tailBuffer{},
		exited: make(chan struct{}),
	}
	w := io.MultiWriter(out, p.tail)
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout = w
	p.cmd.Stderr = w
	p.cmd.SysProcAttr = sysProcAttr()
	// The output copiers end when every holder of the pipes has exited;
	// do not let a stray grandchild keep Wait from returning.
	p.cmd.WaitDelay = stopGrace

	started := make(chan error, 1)
	go func() {
		// Linux delivers Pdeathsig when the thread that forked the child
		// exits, not the process (prctl(2), golang/go#27505), and Go ends a
		// thread whenever a goroutine locked to it returns. Holding the
		// forking thread locked until the child is reaped means no other
		// goroutine can run on it and take the child down with it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// stop ends the process group: SIGTERM, then SIGKILL after stopGrace, then
// SIGKILL again for anything else left in the group. It waits for the
// process to be reaped and is safe to call more than once.
func (p *process) stop() error {
	p.stopOnce.Do(func() { p.stopErr = p.kill() })
	return p.stopErr
}

func (p *process) kill() error {
	var errs []error
	if err := signalGroup(p.cmd, sigTerm); err != nil {
		errs = append(errs, err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
	}
	// SIGKILL the group even when the leader went quietly: a child it
	// forked may still hold the port.
	if err := signalGroup(p.cmd, sigKill); err != nil {
		errs = append(errs, err)
	}
	select {
	case <-p.exited:
	case <-time.After(stopGrace):
		errs = append(errs, fmt.Errorf("process %d did not exit after SIGKILL", p.cmd.Process.Pid))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("emulator: stop %s: %w", p.cmd.Path, err)
	}
	return nil
}

// signalGroup signals p's process group, ignoring a group already gone.
func signalGroup(cmd *exec.Cmd, sig os.Signal) error {
	err := killGroup(cmd.Process.Pid, sig)
	if err == nil || errors.Is(err, errNoProcess) {
		return nil
	}
	return err
}
