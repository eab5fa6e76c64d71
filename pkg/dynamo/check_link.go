package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passreset/passreset/pkg/reset"
)

// LinkIsLatest reports whether rec is still the link its account's state
// item names, the same test ConsumeLink's condition makes, by one
// consistent read and no write: the reset page asks it when a link is
// opened, and opening a link must not change anything.
func (s *Store) LinkIsLatest(ctx context.Context, rec reset.LinkRecord) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(s.tokens),
		Key:                      keyOf(stateKey(rec.Subject)),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#h"),
		ExpressionAttributeNames: map[string]string{"#h": attrLinkHash},
	})
	if err != nil {
		return false, fmt.Errorf("get link state: %w", err)
	}
	latest := item(out.Item).str(attrLinkHash)
	return latest != "" && latest == string(rec.Hash), nil
}
