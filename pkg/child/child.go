//go:build unix

// Package child runs a child process in a process group of its own, so that
// stopping it stops whatever it started too, and, on Linux, so that the
// kernel kills it when this process dies without stopping it (a panic, a
// test -timeout, a kill -9): a crashed test or CLI leaves no JVM, emulator
// or bootstrap behind.
//
// It signals process groups, so it is for Unix.
package child

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"time"
)

const (
	// killWait bounds the wait for a SIGKILLed child to be reaped.
	killWait = 5 * time.Second

	// defaultWaitDelay is cmd.WaitDelay when the caller left it zero.
	defaultWaitDelay = time.Second
)

// Process is a child started by Start.
type Process struct {
	cmd       *exec.Cmd
	startedAt time.Time     // just before exec
	exited    chan struct{} // closed once Wait has returned
	waitErr   error         // Wait's result, set before exited closes

	stopOnce sync.Once
	stopErr  error
}

// Start starts cmd in a process group of its own which, on Linux, the kernel
// SIGKILLs if this process dies (see sysProcAttr), and reaps it when it
// exits. cmd.SysProcAttr must be nil: Start sets it. Start sets
// cmd.WaitDelay to one second if it is zero, because the copiers of a pipe
// end only when every holder of the pipe has exited, and a stray grandchild
// must not keep the child from being reported as exited. The caller must
// call Stop.
func Start(cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr != nil {
		return nil, errors.New("child: start: cmd.SysProcAttr is set; Start sets it")
	}
	cmd.SysProcAttr = sysProcAttr()
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = defaultWaitDelay
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Linux delivers Pdeathsig when the thread that forked the child
		// exits, not the process (prctl(2), golang/go#27505), and Go ends a
		// thread when a goroutine locked to it returns without unlocking.
		// Holding the forking thread locked until the child is reaped means
		// no other goroutine runs on it and takes the child down with it.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		// Here, on the forking thread, so that StartedAt is as close to
		// the exec as the caller could have taken it.
		p.startedAt = time.Now()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Pid is the child's process ID, which is also its process group's.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// StartedAt is the time taken just before the child was forked, for
// timing its start-up (a Lambda bootstrap's cold start).
func (p *Process) StartedAt() time.Time { return p.startedAt }

// Exited returns a channel closed once the child has exited and been
// reaped; cmd.ProcessState is set by then.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Wait waits for the child to exit and returns cmd.Wait's error. It does
// not stop the child.
func (p *Process) Wait() error {
	<-p.exited
	return p.waitErr
}

// Stop ends the child's process group: SIGTERM, up to grace for the child
// to exit, then SIGKILL, and waits for the child to be reaped. The group is
// SIGKILLed even when the child went quietly on SIGTERM, because something
// it started may still run and hold a port. A grace of zero or less skips
// SIGTERM. Stop is safe to call more than once and from several
// goroutines; the later calls return the first one's error and ignore
// their grace.
func (p *Process) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() { p.stopErr = p.stop(grace) })
	return p.stopErr
}

func (p *Process) stop(grace time.Duration) error {
	var errs []error
	if grace > 0 {
		if err := p.signalGroup(syscall.SIGTERM); err != nil {
			errs = append(errs, err)
		}
		select {
		case <-p.exited:
		case <-time.After(grace):
		}
	}
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		errs = append(errs, err)
	}
	select {
	case <-p.exited:
	case <-time.After(killWait):
		errs = append(errs, fmt.Errorf("process %d did not exit within %s of SIGKILL", p.Pid(), killWait))
	}
	return errors.Join(errs...)
}

// signalGroup signals the child's process group, which is no error when the
// group is already gone.
func (p *Process) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.Pid(), sig)
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return fmt.Errorf("signal process group %d: %w", p.Pid(), err)
}
