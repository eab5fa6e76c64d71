package main

import (
	"runtime"

	"github.com/passreset/passreset/pkg/password"
)

// hashBytes is the memory one argon2id hash at the default parameters
// allocates, from the runtime's count of bytes allocated around it.
func hashBytes() (uint64, error) {
	h, err := password.NewHasher(password.Argon2id)
	if err != nil {
		return 0, err
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := h.Hash(newPassword); err != nil {
		return 0, err
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, nil
}
