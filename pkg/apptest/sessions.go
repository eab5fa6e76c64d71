package apptest

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/dynamo"
)

// WithSessions is s with a sessions table of the Env's own (SESSIONS_TABLE
// and SESSIONS_ACCOUNT_INDEX, the other names at their defaults), which New
// creates with its account index as an app would have it. With the webhook
// back-end New drops these settings (the service refuses SESSIONS_TABLE
// there): the hook's end-sessions call ends the sessions, in the
// receiver's sessions table.
func WithSessions(s Settings) Settings {
	out := maps.Clone(s)
	if out == nil {
		out = Settings{}
	}
	out["SESSIONS_TABLE"] = "sessions-" + randomHex(4)
	out["SESSIONS_ACCOUNT_INDEX"] = "account-index"
	return out
}

// AddSessions stores n sessions of the account id where its back-end keeps
// them, each with an id of its own, as an app's login would.
func (e *Env) AddSessions(t testing.TB, id string, n int) {
	t.Helper()
	if err := e.users.addSessions(context.Background(), id, n); err != nil {
		t.Fatalf("apptest: %v", err)
	}
}

// SessionsOf counts the account's sessions, read where they are kept:
// strongly consistent from the DynamoDB sessions table itself rather than
// from its index, or from the receiver's table.
func (e *Env) SessionsOf(t testing.TB, id string) int {
	t.Helper()
	n, err := e.users.sessionsOf(context.Background(), id)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return n
}

// dynamoSessions is an Env's DynamoDB sessions table (WithSessions).
type dynamoSessions struct {
	db  *dynamodb.Client
	tbl dynamo.SessionsTable
}

func (s *dynamoSessions) add(ctx context.Context, id string, n int) error {
	tbl := s.tbl
	for i := range n {
		sid := fmt.Sprintf("%s-session-%d-%s", id, i, randomHex(4))
		it := map[string]types.AttributeValue{
			tbl.KeyAttribute:     &types.AttributeValueMemberS{Value: sid},
			tbl.AccountAttribute: &types.AttributeValueMemberS{Value: id},
			"token":              &types.AttributeValueMemberS{Value: randomHex(16)},
		}
		if tbl.SortKeyAttribute != "" {
			it[tbl.SortKeyAttribute] = &types.AttributeValueMemberS{Value: "web"}
		}
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tbl.Name), Item: it}); err != nil {
			return fmt.Errorf("add session: %w", err)
		}
	}
	return nil
}

func (s *dynamoSessions) count(ctx context.Context, id string) (int, error) {
	tbl := s.tbl
	n := 0
	p := dynamodb.NewScanPaginator(s.db, &dynamodb.ScanInput{
		TableName:                 aws.String(tbl.Name),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#a = :id"),
		ExpressionAttributeNames:  map[string]string{"#a": tbl.AccountAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("count sessions: %w", err)
		}
		n += len(out.Items)
	}
	return n, nil
}
