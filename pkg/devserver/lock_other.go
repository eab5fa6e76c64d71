//go:build !unix

package devserver

import "errors"

// errLocked is a lock another process holds. Without flock(2) there is no
// lock: a second dev stack is caught by its API port instead.
var errLocked = errors.New("locked")

type lock struct{}

func acquire(string) (*lock, error) { return &lock{}, nil }

func (*lock) release() error { return nil }

func locked(string) bool { return true }
