package dynamo

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// window is a counter that opens at its first event and allows limit.Max
// events until it is limit.Window old; the next event after that opens a
// new one. DynamoDB cannot reset a counter conditionally in one update, so
// the update that counts assumes the window is open, and the rare update
// that finds it passed is followed by one that restarts it.
type window struct {
	start, count string // attribute names
	limit        reset.Limit
}

func (w window) cut(now time.Time) int64 { return unix(now.Add(-w.limit.Window)) }

// hasRoom is the rule that a window is new, or open with room left.
func (w window) hasRoom(now time.Time) expression.ConditionBuilder {
	return expression.Name(w.start).AttributeNotExists().Or(
		expression.Name(w.start).GreaterThan(expression.Value(w.cut(now))).
			And(expression.Name(w.count).LessThan(expression.Value(w.limit.Max))))
}

// hasPassed is the rule that the window is over.
func (w window) hasPassed(now time.Time) expression.ConditionBuilder {
	return expression.Name(w.start).LessThanEqual(expression.Value(w.cut(now)))
}

// counted adds one event to the update, opening the window if it is new,
// or restarting it.
func (w window) counted(u expression.UpdateBuilder, now time.Time, restart bool) expression.UpdateBuilder {
	if restart {
		return u.Set(expression.Name(w.start), expression.Value(unix(now))).
			Set(expression.Name(w.count), expression.Value(1))
	}
	return u.Set(expression.Name(w.start), expression.IfNotExists(expression.Name(w.start), expression.Value(unix(now)))).
		Set(expression.Name(w.count), expression.Plus(expression.IfNotExists(expression.Name(w.count), expression.Value(0)), expression.Value(1)))
}

// condition picks the rule for the variant.
func (w window) condition(now time.Time, restart bool) expression.ConditionBuilder {
	if restart {
		return w.hasPassed(now)
	}
	return w.hasRoom(now)
}

// judge reads the item as it was when the condition failed: whether the
// window has passed (restart), or is full (a limit error saying when it
// frees), or neither (another request changed it meanwhile: try again).
func (w window) judge(old item, now time.Time, reason error) (restart bool, err error) {
	start, ok := old.num(w.start)
	if !ok {
		return false, nil
	}
	if start <= w.cut(now) {
		return true, nil
	}
	if n, _ := old.num(w.count); n >= int64(w.limit.Max) {
		return false, limitError(reason, time.Unix(start, 0).Add(w.limit.Window), now)
	}
	return false, nil
}

func limitError(reason error, frees, now time.Time) error {
	wait := frees.Sub(now)
	// Whole seconds, rounded up, so a client that waits is let in.
	if rem := wait % time.Second; rem > 0 {
		wait += time.Second - rem
	}
	return &reset.LimitError{Err: reason, RetryAfter: wait}
}

// maxTries bounds the variants tried when concurrent writers keep changing
// the item between our tries; each try is a fresh conditional write, so the
// limits hold however many there are.
const maxTries = 4

var errContention = errors.New("item kept changing under concurrent writes")

// item is a DynamoDB item as returned by the SDK.
type item map[string]types.AttributeValue

func (it item) num(name string) (int64, bool) {
	v, ok := it[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}

func (it item) str(name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// flag reads a boolean stored as BOOL, as a number (non-zero is true) or as
// the string "true", as existing users tables do.
func (it item) flag(name string) (value, present bool) {
	switch v := it[name].(type) {
	case *types.AttributeValueMemberBOOL:
		return v.Value, true
	case *types.AttributeValueMemberN:
		return v.Value != "0", true
	case *types.AttributeValueMemberS:
		return v.Value == "true" || v.Value == "1", true
	}
	return false, false
}

func build(b expression.Builder) (expression.Expression, error) {
	e, err := b.Build()
	if err != nil {
		return e, fmt.Errorf("build expression: %w", err)
	}
	return e, nil
}

// transactUpdate is an update as one item of a transaction. It returns no
// old values when its condition fails: a users-table item would carry the
// password hash into the error.
func transactUpdate(table string, key map[string]types.AttributeValue, e expression.Expression) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 aws.String(table),
		Key:                       key,
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}
}

func keyOf(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}}
}
