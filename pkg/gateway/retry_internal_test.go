package gateway

import (
	"errors"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/reset"
)

// One rule for Retry-After, for the JSON answers and the reset page: whole
// seconds, rounded up (the page used to round down, so a user who waited
// that long was refused again).
func TestRetryAfterRoundsUp(t *testing.T) {
	for _, tt := range []struct {
		wait time.Duration
		want string
	}{
		{1500 * time.Millisecond, "2"},
		{time.Second, "1"},
		{59*time.Minute + 100*time.Millisecond, "3541"},
		{0, "1"}, // a limit freed as it was refused: at least a second
		{-time.Second, "1"},
	} {
		err := &reset.LimitError{Err: reset.ErrRateLimited, RetryAfter: tt.wait}
		if got := retryAfter(err); got != tt.want {
			t.Errorf("retryAfter(%v): got %s, want %s", tt.wait, got, tt.want)
		}
	}
	if got := retryAfter(errors.New("no limit")); got != "60" {
		t.Errorf("retryAfter(no limit): got %s, want 60", got)
	}
}
