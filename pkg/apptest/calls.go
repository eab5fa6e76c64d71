package apptest

import (
	"context"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// Calls counts AWS operations as the SDK sends them, "DynamoDB.UpdateItem"
// and so on, and can make chosen calls fail, for the fault tests.
type Calls struct {
	mu     sync.Mutex
	counts map[string]int
	order  []string
	fail   func(op string, n int) error
}

func newCalls() *Calls { return &Calls{counts: map[string]int{}} }

// Reset forgets what was counted.
func (c *Calls) Reset() {
	c.mu.Lock()
	c.counts = map[string]int{}
	c.order = nil
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
// this one included. nil stops failing.
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
			}), middleware.Before)
	}}
}
