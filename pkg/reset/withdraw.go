package reset

import (
	"context"
	"time"
)

// withdrawReserve is kept back from a request's deadline for taking back a
// code or link whose mail failed. Without it a mail that fails late (SES
// slow, or throttled through all the SDK's retries) would leave no time to
// take the record back, and the user's next request would be refused for
// a mail that never left.
const withdrawReserve = time.Second

// mailContext ends withdrawReserve before ctx does.
func mailContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if deadline, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, deadline.Add(-withdrawReserve))
	}
	return context.WithCancel(ctx)
}

// withdrawContext outlives ctx's cancellation by withdrawReserve at most.
func withdrawContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), withdrawReserve)
}

// sendOrWithdraw sends a mail and, if it fails, runs withdraw, each with its
// own share of the request's time.
func (s *Service) sendOrWithdraw(ctx context.Context, send func(context.Context) error, withdraw func(context.Context) error) error {
	mailCtx, cancel := mailContext(ctx)
	defer cancel()
	err := s.sendTimed(func() error { return send(mailCtx) })
	if err == nil {
		return nil
	}
	wctx, wcancel := withdrawContext(ctx)
	defer wcancel()
	// A code or link nobody received must not hold the user's next
	// request back.
	if werr := withdraw(wctx); werr != nil {
		s.log.ErrorContext(ctx, "withdraw unsent record", "error", werr)
	} else {
		withdrawn(ctx)
	}
	return err
}
