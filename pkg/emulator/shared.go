package emulator

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// shared is one emulator a test binary starts once, in TestMain, and its
// tests share: the DynamoDB and SES stack, PostgreSQL, cognito-local.
type shared[T any] struct {
	what   string // "the emulators", "PostgreSQL": for messages
	runner string // the TestMain function, for the message of a Need without it

	mu     sync.Mutex
	ran    bool // the runner has been called
	value  *T   // nil when it could not start
	reason string
}

// run is the one rule for a test binary's emulator: start it, run the
// tests, stop it, and return the exit code for os.Exit. When it cannot
// start, the binary fails, saying why, unless PASSRESET_SKIP_INTEGRATION=1
// is set outside CI: then the tests run without it, and those that need it
// skip. With CI set to true, nothing ever skips.
func (s *shared[T]) run(m interface{ Run() int }, start func() (*T, error), stop func(*T) error) int {
	value, err := start()
	if err != nil {
		switch {
		case inCI():
			fmt.Fprintf(os.Stderr, "%v\nemulator: CI is set: tests that need %s must run in CI, so this test binary fails instead of skipping them\n", err, s.what)
			return 1
		case os.Getenv(EnvSkipIntegration) == "1":
			fmt.Fprintf(os.Stderr, "%v\nemulator: %s=1: tests that need %s will skip\n", err, EnvSkipIntegration, s.what)
			s.set(nil, err.Error())
			return m.Run()
		default:
			fmt.Fprintf(os.Stderr, "%v\nemulator: to run the other tests and skip those that need %s, set %s=1\n", err, s.what, EnvSkipIntegration)
			return 1
		}
	}
	s.set(value, "")
	code := m.Run()
	s.set(nil, s.what+" stopped when the tests finished")
	if err := stop(value); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func (s *shared[T]) set(value *T, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ran, s.value, s.reason = true, value, reason
}

// current is the running one, or nil.
func (s *shared[T]) current() *T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.value
}

// need returns the running one, or skips t when it could not start and
// skipping is allowed (run), or fails t when TestMain did not start it.
func (s *shared[T]) need(t testing.TB) *T {
	t.Helper()
	s.mu.Lock()
	ran, value, reason := s.ran, s.value, s.reason
	s.mu.Unlock()
	switch {
	case value != nil:
		return value
	case !ran:
		t.Fatalf("emulator: no %s: the package's TestMain must call emulator.%s", s.what, s.runner)
	default:
		t.Skipf("%s (%s=1 lets this test skip)", reason, EnvSkipIntegration)
	}
	return nil
}
