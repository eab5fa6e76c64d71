package apptest

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// WithSessions is s with a sessions table of the Env's own (SESSIONS_TABLE
// and SESSIONS_ACCOUNT_INDEX, the other names at their defaults), which New
// creates with its account index as an app would have it.
func WithSessions(s Settings) Settings {
	out := maps.Clone(s)
	if out == nil {
		out = Settings{}
	}
	out["SESSIONS_TABLE"] = "sessions-" + randomHex(4)
	out["SESSIONS_ACCOUNT_INDEX"] = "account-index"
	return out
}

// AddSessions stores n sessions of the account id in the Env's sessions
// table, each with a token of its own, as an app's login would.
func (e *Env) AddSessions(t testing.TB, id string, n int) {
	t.Helper()
	tbl := e.Config.Sessions
	if tbl.Name == "" {
		t.Fatal("apptest: AddSessions on an Env without a sessions table (WithSessions)")
	}
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
		if _, err := e.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(tbl.Name), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
}

// SessionsOf counts the account's sessions in the sessions table, read
// strongly consistent from the table itself rather than from its index.
func (e *Env) SessionsOf(t testing.TB, id string) int {
	t.Helper()
	tbl := e.Config.Sessions
	n := 0
	p := dynamodb.NewScanPaginator(e.DB, &dynamodb.ScanInput{
		TableName:                 aws.String(tbl.Name),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("#a = :id"),
		ExpressionAttributeNames:  map[string]string{"#a": tbl.AccountAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: id}},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.Items)
	}
	return n
}
