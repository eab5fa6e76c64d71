package main

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
)

// call is one AWS call as the SDK client made it: the operation, its input
// (kept for the floor's replay), whether it failed, and the DynamoDB
// capacity it consumed as the service reported it.
type call struct {
	Op     string // "DynamoDB.UpdateItem"
	Input  any
	Failed bool
	RCU    float64
	WCU    float64
	// Reported is false when the output carried no capacity (an error,
	// or a non-DynamoDB call).
	Reported bool
}

// recorder is an SDK middleware that asks DynamoDB for the capacity of
// every call (ReturnConsumedCapacity TOTAL on each input it knows) and
// records each call with what it consumed. It measures the service's own
// calls, at the client, without touching the store.
type recorder struct {
	mu    sync.Mutex
	calls []call
	on    bool
}

func (r *recorder) start() {
	r.mu.Lock()
	r.calls, r.on = nil, true
	r.mu.Unlock()
}

// stop returns what was recorded since start and stops recording.
func (r *recorder) stop() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls, r.on = nil, false
	return c
}

func (r *recorder) apiOptions() []func(*middleware.Stack) error {
	return []func(*middleware.Stack) error{func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("bench.recorder",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				askCapacity(in.Parameters)
				out, md, err := next.HandleInitialize(ctx, in)
				c := call{
					Op:     awsmiddleware.GetServiceID(ctx) + "." + awsmiddleware.GetOperationName(ctx),
					Input:  in.Parameters,
					Failed: err != nil,
				}
				if err == nil {
					c.RCU, c.WCU, c.Reported = capacityOf(c.Op, out.Result)
				}
				r.mu.Lock()
				if r.on {
					r.calls = append(r.calls, c)
				}
				r.mu.Unlock()
				return out, md, err
			}), middleware.After)
	}}
}

// askCapacity sets ReturnConsumedCapacity TOTAL on a DynamoDB input.
func askCapacity(in any) {
	const total = types.ReturnConsumedCapacityTotal
	switch v := in.(type) {
	case *dynamodb.GetItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.PutItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.UpdateItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.DeleteItemInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.QueryInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.TransactWriteItemsInput:
		v.ReturnConsumedCapacity = total
	case *dynamodb.TransactGetItemsInput:
		v.ReturnConsumedCapacity = total
	}
}

// capacityOf reads the consumed capacity from a DynamoDB output, as read
// units for reads and write units for writes (on-demand bills them apart).
func capacityOf(op string, out any) (rcu, wcu float64, ok bool) {
	var cs []types.ConsumedCapacity
	switch v := out.(type) {
	case *dynamodb.GetItemOutput:
		cs = one(v.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		cs = one(v.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		cs = one(v.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		cs = one(v.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		cs = one(v.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		cs = v.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		cs = v.ConsumedCapacity
	default:
		return 0, 0, false
	}
	if len(cs) == 0 {
		return 0, 0, false
	}
	read := strings.HasSuffix(op, ".GetItem") || strings.HasSuffix(op, ".Query") || strings.HasSuffix(op, ".TransactGetItems")
	for _, c := range cs {
		r, w := aws.ToFloat64(c.ReadCapacityUnits), aws.ToFloat64(c.WriteCapacityUnits)
		if r == 0 && w == 0 {
			if read {
				r = aws.ToFloat64(c.CapacityUnits)
			} else {
				w = aws.ToFloat64(c.CapacityUnits)
			}
		}
		rcu, wcu = rcu+r, wcu+w
	}
	return rcu, wcu, true
}

func one(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

// sequence is the calls' operations in order, "Service.Op" shortened.
func sequence(cs []call) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString(" → ")
		}
		b.WriteString(shortOp(c.Op))
		if c.Failed {
			b.WriteString("✗")
		}
	}
	return b.String()
}

func shortOp(op string) string {
	return strings.NewReplacer("DynamoDB.", "", "SESv2.", "SES.", "Secrets Manager.", "SM.").Replace(op)
}

func countService(cs []call, prefix string) int {
	n := 0
	for _, c := range cs {
		if strings.HasPrefix(c.Op, prefix) {
			n++
		}
	}
	return n
}

func capacity(cs []call) (rcu, wcu float64, unreported int) {
	for _, c := range cs {
		if !strings.HasPrefix(c.Op, "DynamoDB.") {
			continue
		}
		if !c.Reported {
			unreported++
			continue
		}
		rcu += c.RCU
		wcu += c.WCU
	}
	return rcu, wcu, unreported
}

func fmtUnits(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}
