package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
)

// sessionsEnv is a sessions table of its own on DynamoDB Local, keyed by
// a partition and a sort key, as many apps key theirs, with its account
// index.
type sessionsEnv struct {
	db    *dynamodb.Client
	table dynamo.SessionsTable
}

func newSessions(t *testing.T) sessionsEnv {
	t.Helper()
	stack := emulator.Need(t)
	db := function.ClientsAt(function.LocalConfig(), function.Endpoints{DynamoDB: stack.DynamoDBEndpoint}).DynamoDB
	table := dynamo.SessionsTable{
		Name:             "st-sessions-" + randHex(4),
		AccountAttribute: "uid",
		AccountIndex:     "by-uid",
		KeyAttribute:     "sid",
		SortKeyAttribute: "device",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateSessionsTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	return sessionsEnv{db: db, table: table}
}

// add stores n sessions of account, each with a token the service must
// never read, and returns their ids.
func (e sessionsEnv) add(t *testing.T, account string, n int) []string {
	t.Helper()
	var ids []string
	for i := range n {
		id := fmt.Sprintf("%s-s%02d", account, i)
		_, err := e.db.PutItem(t.Context(), &dynamodb.PutItemInput{
			TableName: aws.String(e.table.Name),
			Item: map[string]types.AttributeValue{
				"sid":    &types.AttributeValueMemberS{Value: id},
				"device": &types.AttributeValueMemberS{Value: "phone"},
				"uid":    &types.AttributeValueMemberS{Value: account},
				"token":  &types.AttributeValueMemberS{Value: "secret-" + id},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// left is the ids of account's sessions still in the table, read
// strongly consistent from the table itself, not from the index.
func (e sessionsEnv) left(t *testing.T, account string) []string {
	t.Helper()
	var ids []string
	p := dynamodb.NewScanPaginator(e.db, &dynamodb.ScanInput{TableName: aws.String(e.table.Name), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			if uid, _ := it["uid"].(*types.AttributeValueMemberS); uid != nil && uid.Value == account {
				ids = append(ids, it["sid"].(*types.AttributeValueMemberS).Value)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// countingAPI counts the calls Sessions makes.
type countingAPI struct {
	dynamo.SessionsAPI
	queries, batches int
	batchSizes       []int
	projections      []string
}

func (c *countingAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries++
	var names []string
	for _, p := range strings.Split(aws.ToString(in.ProjectionExpression), ", ") {
		names = append(names, in.ExpressionAttributeNames[p])
	}
	c.projections = append(c.projections, strings.Join(names, ","))
	return c.SessionsAPI.Query(ctx, in, opts...)
}

func (c *countingAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.batches++
	for _, reqs := range in.RequestItems {
		c.batchSizes = append(c.batchSizes, len(reqs))
	}
	return c.SessionsAPI.BatchWriteItem(ctx, in, opts...)
}

func TestEndSessions(t *testing.T) {
	t.Parallel()
	e := newSessions(t)
	mine := e.add(t, "u-mine", 3)
	others := e.add(t, "u-other", 2)
	api := &countingAPI{SessionsAPI: e.db}
	s := dynamo.NewSessions(api, e.table)

	wantNil(t, "end sessions", s.EndSessions(t.Context(), "u-mine"))
	if got := e.left(t, "u-mine"); len(got) != 0 {
		t.Errorf("sessions left of the account: %q, want none of %q", got, mine)
	}
	if got := e.left(t, "u-other"); !slices.Equal(got, others) {
		t.Errorf("another account's sessions: got %q, want %q untouched", got, others)
	}
	if api.queries != 1 || api.batches != 1 {
		t.Errorf("calls: %d Query, %d BatchWriteItem; want 1 and 1", api.queries, api.batches)
	}
	// Only the keys are read: nothing else of a session, its token least.
	if !slices.Equal(api.projections, []string{"sid,device"}) {
		t.Errorf("projections: got %q, want the key attributes alone", api.projections)
	}

	// Again, with none left: one Query, nothing to delete, no error.
	api.queries, api.batches = 0, 0
	wantNil(t, "end sessions again", s.EndSessions(t.Context(), "u-mine"))
	wantNil(t, "end sessions of an account that never had one", s.EndSessions(t.Context(), "u-none"))
	if api.queries != 2 || api.batches != 0 {
		t.Errorf("calls with no sessions: %d Query, %d BatchWriteItem; want 2 and 0", api.queries, api.batches)
	}
	if got := e.left(t, "u-other"); !slices.Equal(got, others) {
		t.Errorf("another account's sessions: got %q, want %q untouched", got, others)
	}
}

// TestEndSessionsPages: more sessions than a Query page, and than a batch,
// are all deleted: the pages are followed, each deleted 25 at a time.
func TestEndSessionsPages(t *testing.T) {
	t.Parallel()
	e := newSessions(t)
	e.add(t, "u-many", 60)
	others := e.add(t, "u-few", 2)

	t.Run("small pages", func(t *testing.T) {
		api := &countingAPI{SessionsAPI: e.db}
		s := dynamo.NewSessions(api, e.table)
		dynamo.SetPageSize(s, 7)
		e.add(t, "u-paged", 30)
		wantNil(t, "end sessions", s.EndSessions(t.Context(), "u-paged"))
		if got := e.left(t, "u-paged"); len(got) != 0 {
			t.Errorf("sessions left: %q, want none", got)
		}
		// 30 in pages of 7: five pages, the last ending at the last item
		// or one empty page after it, as DynamoDB decides.
		if api.queries < 5 || api.queries > 6 {
			t.Errorf("Query calls: %d, want 5 or 6 pages of 7 for 30 sessions", api.queries)
		}
	})
	t.Run("batches of 25", func(t *testing.T) {
		api := &countingAPI{SessionsAPI: e.db}
		s := dynamo.NewSessions(api, e.table)
		wantNil(t, "end sessions", s.EndSessions(t.Context(), "u-many"))
		if got := e.left(t, "u-many"); len(got) != 0 {
			t.Errorf("sessions left: %q, want none", got)
		}
		if !slices.Equal(api.batchSizes, []int{25, 25, 10}) {
			t.Errorf("batch sizes: got %v, want [25 25 10]", api.batchSizes)
		}
	})
	if got := e.left(t, "u-few"); !slices.Equal(got, others) {
		t.Errorf("another account's sessions: got %q, want %q untouched", got, others)
	}
}

// TestEndSessionsWrongKeyNames: key names that are not the table's key
// are an error that says so, not a silent success.
func TestEndSessionsWrongKeyNames(t *testing.T) {
	t.Parallel()
	e := newSessions(t)
	e.add(t, "u-1", 1)
	table := e.table
	table.SortKeyAttribute = "created_at"
	err := dynamo.NewSessions(e.db, table).EndSessions(t.Context(), "u-1")
	if err == nil || !strings.Contains(err.Error(), "created_at") {
		t.Fatalf("got %v, want an error naming created_at", err)
	}
	if got := e.left(t, "u-1"); len(got) != 1 {
		t.Errorf("sessions left: %q, want the one untouched", got)
	}
}

// unprocessedAPI answers every Query with n sessions and leaves the first
// leave BatchWriteItem calls' items unprocessed: DynamoDB's answer when
// it throttles part of a batch.
type unprocessedAPI struct {
	n, leave, batches int
	fail              error
}

func (u *unprocessedAPI) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	out := &dynamodb.QueryOutput{}
	for i := range u.n {
		out.Items = append(out.Items, map[string]types.AttributeValue{"sid": &types.AttributeValueMemberS{Value: fmt.Sprint(i)}})
	}
	return out, nil
}

func (u *unprocessedAPI) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	u.batches++
	if u.fail != nil {
		return nil, u.fail
	}
	if u.batches <= u.leave {
		return &dynamodb.BatchWriteItemOutput{UnprocessedItems: in.RequestItems}, nil
	}
	return &dynamodb.BatchWriteItemOutput{}, nil
}

// TestEndSessionsUnprocessed: items DynamoDB leaves unprocessed are sent
// again after a growing wait, a bounded number of times; a batch still
// left is an error, and so is a failed call.
func TestEndSessionsUnprocessed(t *testing.T) {
	table := dynamo.SessionsTable{Name: "sessions", AccountAttribute: "uid", AccountIndex: "by-uid", KeyAttribute: "sid"}
	tests := []struct {
		name        string
		api         *unprocessedAPI
		wantErr     string
		wantBatches int
		wantWaits   []time.Duration
	}{
		{"processed at once", &unprocessedAPI{n: 3}, "", 1, nil},
		{"left twice, then processed", &unprocessedAPI{n: 3, leave: 2}, "", 3, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{"left every time: bounded", &unprocessedAPI{n: 3, leave: 100}, "3 of 3 left unprocessed after 4 tries", 4, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}},
		{"the call fails", &unprocessedAPI{n: 3, fail: errors.New("throttled")}, "delete sessions: throttled", 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := dynamo.NewSessions(tt.api, table)
			var waits []time.Duration
			dynamo.SetWait(s, func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil })
			err := s.EndSessions(t.Context(), "u-1")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
			if tt.api.batches != tt.wantBatches || !slices.Equal(waits, tt.wantWaits) {
				t.Errorf("got %d BatchWriteItem calls and waits %v, want %d and %v", tt.api.batches, waits, tt.wantBatches, tt.wantWaits)
			}
		})
	}
}
