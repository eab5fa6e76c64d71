package dynamo

import (
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// window is a sliding limit: at most limit.Max events in any span of
// limit.Window, however the events fall. A fixed window lets 2*Max through
// across its edge; this does not.
//
// It keeps the last events' times in numbered places of the item, oldest
// first ("<prefix>_0" .. ; Unix seconds, 0 or absent is a free place). One
// more event is allowed when the oldest place is outside the span: counting
// it shifts every place down and writes now into the last. The condition
// and the update are one conditional write, so it holds under any
// concurrency.
//
// Up to maxPlaces events each event has a place of its own, and the limit
// is exact: the per-account limits (3 sends an hour, 20 failures a day)
// are. A larger Max (a per-IP limit of thousands) would make the item and
// the update too large, so there a place holds a group of up to g =
// ceil(Max/maxPlaces) events ("<prefix>_<i>n" counts them), started at the
// place's time; an event joins the newest group while it is in the span
// and not full. Then at most Max + g - 1 events fall in any span (the
// groups in the item hold at most Max, and of the group that last left
// the item only events after its start can still be in the span): for
// IP_LIMIT=1000 that is 1031, never 2x. See TestWindowWorstCase.
type window struct {
	prefix string // the places' common name
	limit  reset.Limit
	scope  reset.LimitScope // which limit it is, for the LimitError it refuses with
}

const maxPlaces = 32

// group is how many events one place holds; places, how many places.
func (w window) group() int  { return (w.limit.Max + maxPlaces - 1) / maxPlaces }
func (w window) places() int { return w.limit.Max / w.group() }

func (w window) timeAt(i int) string  { return w.prefix + "_" + strconv.Itoa(i) }
func (w window) countAt(i int) string { return w.prefix + "_" + strconv.Itoa(i) + "n" }

func (w window) cut(now time.Time) int64 { return unix(now.Add(-w.limit.Window)) }

// joins reports whether the first try at counting joins the newest group,
// as most events do when there are groups.
func (w window) joins() bool { return w.group() > 1 }

// hasRoom is the rule for one more event: for a shift, that the oldest
// place is outside the span; for a join, that the newest group is inside
// it and not full, or that there is none yet (the item is new).
func (w window) hasRoom(now time.Time, join bool) expression.ConditionBuilder {
	if join {
		newest := expression.Name(w.timeAt(w.places() - 1))
		return newest.AttributeNotExists().Or(newest.GreaterThan(expression.Value(w.cut(now))).
			And(expression.Name(w.countAt(w.places() - 1)).LessThan(expression.Value(w.group()))))
	}
	oldest := expression.Name(w.timeAt(0))
	return oldest.AttributeNotExists().Or(oldest.LessThanEqual(expression.Value(w.cut(now))))
}

// counted adds the event at now to the update. DynamoDB evaluates every
// right-hand side on the item as it was, so the shift reads old values.
func (w window) counted(u expression.UpdateBuilder, now time.Time, join bool) expression.UpdateBuilder {
	newest := w.places() - 1
	if join {
		count := expression.Name(w.countAt(newest))
		return u.Set(count, expression.Plus(expression.IfNotExists(count, expression.Value(0)), expression.Value(1))).
			Set(expression.Name(w.timeAt(newest)), expression.IfNotExists(expression.Name(w.timeAt(newest)), expression.Value(unix(now))))
	}
	zero := expression.Value(0)
	for i := range newest {
		u = u.Set(expression.Name(w.timeAt(i)), expression.IfNotExists(expression.Name(w.timeAt(i+1)), zero))
		if w.group() > 1 {
			u = u.Set(expression.Name(w.countAt(i)), expression.IfNotExists(expression.Name(w.countAt(i+1)), zero))
		}
	}
	u = u.Set(expression.Name(w.timeAt(newest)), expression.Value(unix(now)))
	if w.group() > 1 {
		u = u.Set(expression.Name(w.countAt(newest)), expression.Value(1))
	}
	return u
}

// uncounted takes back the newest event: one counted before it was known
// not to be one (a right guess, a mail that never left). Under concurrency
// it may take back another request's event of the same moment; the count
// is what matters. A place freed inside the span is only reused once it
// is the oldest, so the limit never loosens; at worst it holds a little
// long.
func (w window) uncounted(u expression.UpdateBuilder) expression.UpdateBuilder {
	newest := w.places() - 1
	if w.group() > 1 {
		return u.Set(expression.Name(w.countAt(newest)), expression.Name(w.countAt(newest)).Minus(expression.Value(1)))
	}
	return u.Set(expression.Name(w.timeAt(newest)), expression.Value(0))
}

// judge reads the item as it was when a try failed: a limit error saying
// when the oldest counted event leaves the span, or which way to try
// next (join the newest group, or shift), when there is room.
func (w window) judge(old item, now time.Time, reason error) (join bool, err error) {
	newest := w.places() - 1
	if w.group() > 1 {
		t, started := old.num(w.timeAt(newest))
		n, _ := old.num(w.countAt(newest))
		if !started || t > w.cut(now) && n < int64(w.group()) {
			return true, nil
		}
	}
	oldest, ok := old.num(w.timeAt(0))
	if !ok || oldest <= w.cut(now) {
		return false, nil
	}
	return false, limitError(reason, w.scope, time.Unix(oldest, 0).Add(w.limit.Window), now)
}

// inSpan is how many events of it the window counts now: each place in
// the span holds one event, or its group's count.
func (w window) inSpan(it item, now time.Time) int {
	n := 0
	for i := range w.places() {
		if t, ok := it.num(w.timeAt(i)); !ok || t <= w.cut(now) {
			continue
		}
		if w.group() == 1 {
			n++
			continue
		}
		c, _ := it.num(w.countAt(i))
		n += int(c)
	}
	return n
}

// fullAfter reports whether the item as it is after an event leaves no
// room for another one now: the event just counted took the last place.
func (w window) fullAfter(it item, now time.Time) bool {
	_, err := w.judge(it, now, reset.ErrTooManyAttempts)
	return err != nil
}

// limitError is the spent limit scope that frees at frees. The HTTP edge
// turns the wait into Retry-After seconds (gateway.retryAfter), in one
// place; the scope goes only to the metrics.
func limitError(reason error, scope reset.LimitScope, frees, now time.Time) error {
	return &reset.LimitError{Err: reason, RetryAfter: frees.Sub(now), Scope: scope}
}

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

// transactCheck is a condition on an item, as one item of a transaction.
func transactCheck(table string, key map[string]types.AttributeValue, e expression.Expression) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                 aws.String(table),
		Key:                       key,
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}
}

func keyOf(pk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: &types.AttributeValueMemberS{Value: pk}}
}
