package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// SessionsTable names the app's own table of sessions, where a reset
// deletes the account's sessions (docs/contract.md). The app owns the
// table and its layout; the service only finds an account's sessions by
// an index and deletes them by their keys.
type SessionsTable struct {
	Name string
	// AccountAttribute holds the account's id (a string: the users
	// table's key value) on each session.
	AccountAttribute string
	// AccountIndex is a global secondary index keyed on AccountAttribute.
	AccountIndex string
	// KeyAttribute and SortKeyAttribute ("" when the table has none) are
	// the table's primary key: what DeleteItem needs. They are configured
	// rather than read with DescribeTable so that a cold start makes no
	// AWS call, and a Query of any index returns them, whatever it
	// projects.
	KeyAttribute     string
	SortKeyAttribute string
}

// keyAttributes are the attributes of a session's primary key.
func (t SessionsTable) keyAttributes() []string {
	if t.SortKeyAttribute == "" {
		return []string{t.KeyAttribute}
	}
	return []string{t.KeyAttribute, t.SortKeyAttribute}
}

// SessionsAPI is the part of the DynamoDB client Sessions calls.
type SessionsAPI interface {
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
}

// Sessions ends an account's sessions in a SessionsTable. It implements
// reset.Sessions.
type Sessions struct {
	db    SessionsAPI
	table SessionsTable
	// pageSize caps the sessions one Query page holds; 0 leaves DynamoDB's
	// own 1 MB pages. Tests set it small to see the pages followed.
	pageSize int32
	// wait sleeps between two tries of items DynamoDB left unprocessed.
	wait func(ctx context.Context, d time.Duration) error
}

var _ reset.Sessions = (*Sessions)(nil)

// NewSessions returns the Sessions of table over db.
func NewSessions(db SessionsAPI, table SessionsTable) *Sessions {
	return &Sessions{db: db, table: table, wait: sleep}
}

// batchSize is the most requests one BatchWriteItem takes.
const batchSize = 25

// batchTries bounds the tries of one batch whose items DynamoDB keeps
// leaving unprocessed (throttled); batchBackoff is the first wait between
// two, doubled each time, as AWS advises for UnprocessedItems. Four tries
// wait 0.35 s at most, well inside the reset's bound on ending sessions.
const (
	batchTries   = 4
	batchBackoff = 50 * time.Millisecond
)

// EndSessions deletes every session of the account accountID. It is
// idempotent: with none left it makes one Query and deletes nothing.
//
// The sessions are found on the account index, which DynamoDB updates
// shortly after the table and cannot read strongly consistent. That is
// enough here: it runs after the password change committed, so a session
// the index does not show yet was written within that lag of the change,
// either after it, by a login with the new password, which is to stay, or
// just before it, which the session_version bump in the password's
// transaction still ends for an app that compares it (README, "Sessions
// after a reset").
//
// Each page of the Query is deleted with BatchWriteItem, 25 sessions a
// call, rather than one DeleteItem each: an account with many devices or
// stale sessions costs one call per 25, inside the function's timeout.
// Deletes need no condition (a session gone already is no error), which
// is all DeleteItem would add. Items DynamoDB leaves unprocessed are sent
// again, a bounded number of times; what is left then is an error.
func (s *Sessions) EndSessions(ctx context.Context, accountID string) error {
	names := map[string]string{"#a": s.table.AccountAttribute}
	var projection []string
	for i, k := range s.table.keyAttributes() {
		p := "#k" + strconv.Itoa(i)
		names[p] = k
		projection = append(projection, p)
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table.Name),
		IndexName:              aws.String(s.table.AccountIndex),
		KeyConditionExpression: aws.String("#a = :id"),
		// Only the keys: nothing of a session (its token, a device, an
		// IP) is read, and the policy allows no more (dynamodb:Attributes).
		Select:                    types.SelectSpecificAttributes,
		ProjectionExpression:      aws.String(strings.Join(projection, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":id": &types.AttributeValueMemberS{Value: accountID}},
	}
	if s.pageSize > 0 {
		in.Limit = aws.Int32(s.pageSize)
	}
	for {
		out, err := s.db.Query(ctx, in)
		if err != nil {
			return fmt.Errorf("query %s: %w", s.table.AccountIndex, err)
		}
		var deletes []types.WriteRequest
		for _, it := range out.Items {
			key, err := s.keyOf(it)
			if err != nil {
				return err
			}
			deletes = append(deletes, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: key}})
		}
		for len(deletes) > 0 {
			n := min(batchSize, len(deletes))
			if err := s.deleteBatch(ctx, deletes[:n]); err != nil {
				return err
			}
			deletes = deletes[n:]
		}
		if len(out.LastEvaluatedKey) == 0 {
			return nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// keyOf is the primary key of a session as the index returned it.
func (s *Sessions) keyOf(it map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	key := map[string]types.AttributeValue{}
	for _, k := range s.table.keyAttributes() {
		v, ok := it[k]
		if !ok {
			// An index always returns the table's key attributes: the
			// configured names are not the table's key.
			return nil, fmt.Errorf("a session from %s has no attribute %q: SESSIONS_KEY_ATTRIBUTE and SESSIONS_SORT_KEY_ATTRIBUTE must name the table's primary key", s.table.AccountIndex, k)
		}
		key[k] = v
	}
	return key, nil
}

// deleteBatch deletes up to 25 sessions, sending again what DynamoDB left
// unprocessed, at most batchTries times in all.
func (s *Sessions) deleteBatch(ctx context.Context, deletes []types.WriteRequest) error {
	pending := map[string][]types.WriteRequest{s.table.Name: deletes}
	wait := batchBackoff
	for try := 1; ; try++ {
		out, err := s.db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		left := len(out.UnprocessedItems[s.table.Name])
		if left == 0 {
			return nil
		}
		if try == batchTries {
			return fmt.Errorf("delete sessions: %d of %d left unprocessed after %d tries", left, len(deletes), batchTries)
		}
		if err := s.wait(ctx, wait); err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		pending, wait = out.UnprocessedItems, 2*wait
	}
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// CreateSessionsTable creates a sessions table in table's layout, with its
// account index, and waits until it is active: for tests and the
// development server. The app owns its real sessions table; the service
// never creates one. A table that exists is left alone.
func CreateSessionsTable(ctx context.Context, db TablesAPI, table SessionsTable) error {
	str := types.ScalarAttributeTypeS
	attrs := []types.AttributeDefinition{{AttributeName: aws.String(table.AccountAttribute), AttributeType: str}}
	schema := []types.KeySchemaElement{{AttributeName: aws.String(table.KeyAttribute), KeyType: types.KeyTypeHash}}
	if table.SortKeyAttribute != "" {
		schema = append(schema, types.KeySchemaElement{AttributeName: aws.String(table.SortKeyAttribute), KeyType: types.KeyTypeRange})
	}
	for _, k := range table.keyAttributes() {
		if k != table.AccountAttribute {
			attrs = append(attrs, types.AttributeDefinition{AttributeName: aws.String(k), AttributeType: str})
		}
	}
	return createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:            aws.String(table.Name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: attrs,
		KeySchema:            schema,
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName:  aws.String(table.AccountIndex),
			KeySchema:  []types.KeySchemaElement{{AttributeName: aws.String(table.AccountAttribute), KeyType: types.KeyTypeHash}},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
	})
}
