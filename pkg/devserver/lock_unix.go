//go:build unix

package devserver

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// errLocked is a lock another process holds.
var errLocked = errors.New("locked")

// lock is an flock(2) on a file: the kernel releases it when its holder
// exits, however it exits, so a crashed dev stack leaves no stale lock.
type lock struct{ f *os.File }

func acquire(path string) (*lock, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("dev: lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("dev: lock %s: %w", path, err)
	}
	return &lock{f: f}, nil
}

func (l *lock) release() error {
	defer l.f.Close()
	return syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
}

// locked reports whether a process holds the lock at path.
func locked(path string) bool {
	l, err := acquire(path)
	if err != nil {
		return errors.Is(err, errLocked)
	}
	l.release()
	return false
}
