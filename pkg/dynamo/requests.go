package dynamo

import (
	"context"
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
	w := window{prefix: windowRequests, limit: limit, scope: reset.ScopeIP}
	_, err := s.conditional(ctx, w.joins(), func(join bool) (*dynamodb.UpdateItemInput, error) {
		u := w.counted(expression.Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(limit.Window)))), now, join)
		// Rule: at most limit.Max requests from one IP in any window.
		e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(w.hasRoom(now, join)))
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

// RequestsCounted is how many requests from ip for purpose the limit
// counts now, read consistently. The flows never read it; it is for tools
// that check the count is exact (make bench) and for tests.
func (s *Store) RequestsCounted(ctx context.Context, purpose, ip string, limit reset.Limit, now time.Time) (int, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tokens), ConsistentRead: aws.Bool(true), Key: keyOf(ipKey(purpose, ip)),
	})
	if err != nil {
		return 0, fmt.Errorf("read %s requests: %w", purpose, err)
	}
	return window{prefix: windowRequests, limit: limit}.inSpan(out.Item, now), nil
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
