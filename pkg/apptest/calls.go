package apptest

import (
	"context"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Calls counts AWS operations as the SDK sends them, "DynamoDB.UpdateItem"
// and so on, and the webhook back-end's calls of the hook, "Hook.lookup"
// and so on (hook.go), and can make chosen calls fail, for the fault tests.
// A call is counted once, however often it is retried.
type Calls struct {
	mu     sync.Mutex
	counts map[string]int
	order  []string
	fail   func(op string, n int) error
	// hookIDs numbers the hook's calls by webhook-id, which the client
	// keeps on every retry of one call.
	hookIDs map[string]int
	slow    func(op string, n int) time.Duration
}

func newCalls() *Calls { return &Calls{counts: map[string]int{}, hookIDs: map[string]int{}} }

// Reset forgets what was counted.
func (c *Calls) Reset() {
	c.mu.Lock()
	c.counts = map[string]int{}
	c.order = nil
	c.hookIDs = map[string]int{}
	c.mu.Unlock()
}

// Total is the number of calls counted.
func (c *Calls) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.order)
}

// Count is the number of calls of one operation, e.g. "DynamoDB.Query".
func (c *Calls) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[op]
}

// Service counts the calls to one service, e.g. "DynamoDB" or "SESv2".
func (c *Calls) Service(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, op := range c.order {
		if len(op) > len(name) && op[:len(name)+1] == name+"." {
			n++
		}
	}
	return n
}

// Order lists the calls in the order they were sent.
func (c *Calls) Order() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.order...)
}

// FailWith makes every call for which f returns an error fail with it
// before it is sent; n counts the calls of that operation so far,
// this one included. nil stops failing. An AWS call fails before the SDK's
// retryer, so once; a hook call is answered 500 by the receiver's stand-in,
// on every retry of that call, so the client's retries give up too.
func (c *Calls) FailWith(f func(op string, n int) error) {
	c.mu.Lock()
	c.fail = f
	c.mu.Unlock()
}

func (c *Calls) apiOptions() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("apptest.calls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx)
				c.mu.Lock()
				c.counts[op]++
				c.order = append(c.order, op)
				n, fail := c.counts[op], c.fail
				c.mu.Unlock()
				if fail != nil {
					if err := fail(op, n); err != nil {
						return middleware.InitializeOutput{}, middleware.Metadata{}, err
					}
				}
				return next.HandleInitialize(ctx, in)
				// After, not Before: the Cognito client registers its
				// service and operation names at the front of Initialize
				// after the APIOptions are added, so a middleware placed
				// before it would read neither. Still ahead of the
				// retryer (Finalize).
			}), middleware.After)
	}}
}

// SlowWith holds back the hook's answer to every call for which f returns
// more than 0 by that long, after the receiver has acted (on every retry
// of the call): a hook that applied a change and whose answer came too
// late, or never. n counts as in FailWith. nil stops it. AWS calls are
// slowed with ThrottleWith.
func (c *Calls) SlowWith(f func(op string, n int) time.Duration) {
	c.mu.Lock()
	c.slow = f
	c.mu.Unlock()
}

// hook counts one attempt of a hook call, once per webhook-id, and says
// whether to fail it and how long to hold its answer back.
func (c *Calls) hook(op, id string) (fail error, slow time.Duration) {
	c.mu.Lock()
	n, retry := c.hookIDs[id]
	if !retry || id == "" {
		c.counts[op]++
		c.order = append(c.order, op)
		n = c.counts[op]
		c.hookIDs[id] = n
	}
	failf, slowf := c.fail, c.slow
	c.mu.Unlock()
	if failf != nil {
		fail = failf(op, n)
	}
	if slowf != nil {
		slow = slowf(op, n)
	}
	return fail, slow
}
