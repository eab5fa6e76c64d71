package reset

import (
	"context"
	"encoding/binary"
	"io"
	"sync"
	"time"
)

// latencySample remembers how long recent mails took to send, so that the
// answer for an unknown account, which sends no mail, takes as long as the
// answer for a known one. Without it the missing SES call would tell an
// attacker which emails have accounts.
type latencySample struct {
	mu   sync.Mutex
	seen [32]time.Duration
	n    int
}

// defaultMailLatency stands in until this instance has sent a mail: about
// what SES v2 SendEmail takes from Lambda in the same Region.
const defaultMailLatency = 60 * time.Millisecond

func newLatencySample() *latencySample { return &latencySample{} }

func (l *latencySample) record(d time.Duration) {
	l.mu.Lock()
	l.seen[l.n%len(l.seen)] = d
	l.n++
	l.mu.Unlock()
}

// pick returns one of the remembered durations, chosen by r, so the decoy
// wait follows the real distribution rather than a constant.
func (l *latencySample) pick(r uint64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := min(l.n, len(l.seen))
	if n == 0 {
		return defaultMailLatency
	}
	return l.seen[r%uint64(n)]
}

// sendTimed sends one mail and remembers how long it took.
func (s *Service) sendTimed(send func() error) error {
	start := time.Now()
	err := send()
	if err == nil {
		s.mailTime.record(time.Since(start))
	}
	return err
}

// waitLikeMail spends as long as a mail would have taken.
func (s *Service) waitLikeMail(ctx context.Context) {
	var b [8]byte
	if _, err := io.ReadFull(s.random, b[:]); err != nil {
		s.log.WarnContext(ctx, "decoy wait: no randomness, using the first sample", "error", err)
	}
	t := time.NewTimer(s.mailTime.pick(binary.LittleEndian.Uint64(b[:])))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
