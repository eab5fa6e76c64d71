package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// CountRequest counts one request from ip for purpose. The key is API
// Gateway's source IP as the caller passes it; no header can change it.
func (s *Store) CountRequest(ctx context.Context, purpose, ip string, limit reset.Limit, now time.Time) error {
	w := window{start: attrWindowStart, count: attrCount, limit: limit}
	_, err := s.updateWindowed(ctx, func(restart bool) (*dynamodb.UpdateItemInput, error) {
		u := w.counted(expression.UpdateBuilder{}, now, restart).
			Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(limit.Window))))
		// Rule: at most limit.Max requests per window from one IP.
		e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(w.condition(now, restart)))
		if err != nil {
			return nil, err
		}
		return s.update(ipKey(purpose, ip), e, types.ReturnValueNone), nil
	}, func(old item) (bool, error) {
		return w.judge(old, now, reset.ErrRateLimited)
	})
	if err != nil {
		return fmt.Errorf("count %s request: %w", purpose, err)
	}
	return nil
}

// updateWindowed runs the update build makes, first assuming its window is
// open; when the condition fails, judge reads the item as it was and says
// whether to restart the window, to give up with an error, or (when a
// concurrent write explains the failure) to try the same variant again.
func (s *Store) updateWindowed(ctx context.Context, build func(restart bool) (*dynamodb.UpdateItemInput, error), judge func(old item) (bool, error)) (*dynamodb.UpdateItemOutput, error) {
	restart := false
	for range maxTries {
		in, err := build(restart)
		if err != nil {
			return nil, err
		}
		out, err := s.db.UpdateItem(ctx, in)
		var failed *types.ConditionalCheckFailedException
		if !errors.As(err, &failed) {
			return out, err
		}
		if restart, err = judge(failed.Item); err != nil {
			return nil, err
		}
	}
	return nil, errContention
}

// update is an UpdateItem on the tokens table that returns the old item
// when its condition fails, so the caller can tell which rule refused.
func (s *Store) update(pk string, e expression.Expression, returns types.ReturnValue) *dynamodb.UpdateItemInput {
	return &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.tokens),
		Key:                                 keyOf(pk),
		UpdateExpression:                    e.Update(),
		ConditionExpression:                 e.Condition(),
		ExpressionAttributeNames:            e.Names(),
		ExpressionAttributeValues:           e.Values(),
		ReturnValues:                        returns,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
}
