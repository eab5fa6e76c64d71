package dynamo

import (
	"context"
	"time"
)

// SetPageSize caps the sessions one Query page of s holds, so that a test
// sees EndSessions follow its pages with a few sessions.
func SetPageSize(s *Sessions, n int32) { s.pageSize = n }

// SetWait replaces the sleep between two tries of unprocessed deletes.
func SetWait(s *Sessions, wait func(ctx context.Context, d time.Duration) error) { s.wait = wait }
