package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The store's conditional writes are retried in one loop, retried: at most
// maxTries tries, each a fresh conditional write, and between two tries a
// judge that reads why the last one was refused and gives either the error
// to return or what to write next. conditional runs a single UpdateItem
// through it, whose refusal carries the old item; conditionalTransaction a
// TransactWriteItems, whose refusal carries a reason per item, and which
// also tries again, unjudged, a transaction that only conflicted with
// another.

// maxTries bounds the variants tried when concurrent writers keep changing
// the item between our tries; each try is a fresh conditional write, so the
// limits hold however many there are.
const maxTries = 4

var errContention = errors.New("item kept changing under concurrent writes")

// retried runs try until it is done, at most maxTries times. try makes one
// conditional write and says whether it is done (written, or refused for
// good with err) or is to be tried again.
func retried(try func() (done bool, err error)) error {
	for range maxTries {
		if done, err := try(); done || err != nil {
			return err
		}
	}
	return errContention
}

// conditional runs the update build makes for a window's way of counting
// (join, see window). When its condition fails, judge reads the item as it
// was and gives the error to return, or the way to try next: a concurrent
// write, or a group that filled, explains the failure. Each try is a fresh
// conditional write, so the rules hold however many writers there are.
func (s *Store) conditional(ctx context.Context, join bool, build func(join bool) (*dynamodb.UpdateItemInput, error), judge func(old item) (bool, error)) (*dynamodb.UpdateItemOutput, error) {
	var out *dynamodb.UpdateItemOutput
	err := retried(func() (bool, error) {
		in, err := build(join)
		if err != nil {
			return true, err
		}
		out, err = s.db.UpdateItem(ctx, in)
		var failed *types.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			return true, err
		}
		join, err = judge(failed.Item)
		return false, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// conditionalTransaction runs the transaction of the items write makes.
// When a condition cancels it, judge reads the reasons, one per item (the
// old item where the update asked for it), and gives the error to return,
// or nil to try again with what write makes next. A cancellation by
// conflicts with other transactions alone is tried again as it was, since
// it says nothing about the conditions.
func (s *Store) conditionalTransaction(ctx context.Context, write func() ([]types.TransactWriteItem, error), judge func(reasons []types.CancellationReason) error) error {
	return retried(func() (bool, error) {
		items, err := write()
		if err != nil {
			return true, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var canceled *types.TransactionCanceledException
		switch {
		case errors.As(err, &canceled) && onlyConflicts(canceled):
			return false, nil
		case errors.As(err, &canceled):
			return false, judge(canceled.CancellationReasons)
		case err != nil:
			return true, fmt.Errorf("transaction: %w", err)
		}
		return true, nil
	})
}

// transact runs the items as one transaction. A condition that fails turns
// into refused; a conflict with another transaction on the same items is
// tried again, since it says nothing about the conditions.
func (s *Store) transact(ctx context.Context, refused error, items ...types.TransactWriteItem) error {
	return s.conditionalTransaction(ctx,
		func() ([]types.TransactWriteItem, error) { return items, nil },
		func([]types.CancellationReason) error { return refused })
}

func onlyConflicts(c *types.TransactionCanceledException) bool {
	conflict := false
	for _, r := range c.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "TransactionConflict":
			conflict = true
		default:
			return false
		}
	}
	return conflict
}

func failedCondition(r types.CancellationReason) bool {
	return aws.ToString(r.Code) == "ConditionalCheckFailed"
}
