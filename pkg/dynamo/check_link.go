package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// IsLatest reports whether id is still the latest code or link its
// owner's item names, the same test ConsumeCode's and ConsumeLink's
// conditions make, by one consistent read and no write: the reset page
// asks it when a link is opened, and opening a link must not change
// anything.
func (s *Store) IsLatest(ctx context.Context, owner, id string) (bool, error) {
	if owner == "" { // written before owners existed
		return false, nil
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.tokens),
		Key:                      keyOf(ownerKey(owner)),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#l"),
		ExpressionAttributeNames: map[string]string{"#l": attrLatest},
	})
	if err != nil {
		return false, fmt.Errorf("get latest: %w", err)
	}
	latest := item(out.Item).str(attrLatest)
	return latest != "" && latest == id, nil
}
