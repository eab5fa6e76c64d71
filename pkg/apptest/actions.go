package apptest

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
)

// Action is one IAM action a call needed, on what: a table name, a table
// name and "/index/" and an index name, or "" where the call names no
// resource the test can see (SES's identity is in the template only).
type Action struct {
	Name     string // e.g. "dynamodb:UpdateItem"
	Resource string
}

// Actions records the IAM actions behind the AWS calls of an Env, reading
// each call's input: a TransactWriteItems is the item-level action of each
// of its parts (IAM has no action for the transaction itself), a Query on
// an index is an action on that index. Get one from Env.RecordActions.
type Actions struct {
	mu   sync.Mutex
	seen []Action
}

// Take returns the actions recorded since the last Take, in call order,
// and forgets them.
func (a *Actions) Take() []Action {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := a.seen
	a.seen = nil
	return out
}

func (a *Actions) add(acts ...Action) {
	a.mu.Lock()
	a.seen = append(a.seen, acts...)
	a.mu.Unlock()
}

// RecordActions rebuilds e's service and handler over clients that also
// record IAM actions, and returns the record. Call it right after New,
// before the first request: the service it replaces is discarded, its
// tables, clock, log and call count are kept.
func (e *Env) RecordActions(t testing.TB) *Actions {
	t.Helper()
	acts := &Actions{}
	awsCfg := function.LocalConfig()
	awsCfg.APIOptions = append(e.Calls.apiOptions(), acts.apiOption)
	clients := function.ClientsAt(awsCfg, function.Endpoints{DynamoDB: e.Stack.DynamoDBEndpoint, SES: e.Stack.SESEndpoint})
	log := slog.New(slog.NewTextHandler(e.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := function.NewServiceWith(e.Config, clients, log, e.Clock.Now)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	h, err := gateway.New(svc.Flows, log, gateway.RouteKeys())
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	e.Service, e.Handler, e.DB = svc, h, clients.DynamoDB
	return acts
}

func (a *Actions) apiOption(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("apptest.actions",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			a.add(actionsOf(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx), in.Parameters)...)
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// iamPrefix is each service's prefix in IAM action names.
var iamPrefix = map[string]string{
	"DynamoDB":        "dynamodb",
	"SESv2":           "ses",
	"Secrets Manager": "secretsmanager",
}

// actionsOf maps one SDK call to the IAM actions it needs. An operation
// it does not know is its own action with no resource, which the caller's
// comparison with the policy then reports.
func actionsOf(service, op string, params any) []Action {
	prefix, ok := iamPrefix[service]
	if !ok {
		prefix = strings.ToLower(strings.ReplaceAll(service, " ", ""))
	}
	dynamo := func(action string, table *string, index *string) Action {
		r := aws.ToString(table)
		if aws.ToString(index) != "" {
			r += "/index/" + aws.ToString(index)
		}
		return Action{Name: "dynamodb:" + action, Resource: r}
	}
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		return []Action{dynamo("GetItem", in.TableName, nil)}
	case *dynamodb.PutItemInput:
		return []Action{dynamo("PutItem", in.TableName, nil)}
	case *dynamodb.UpdateItemInput:
		return []Action{dynamo("UpdateItem", in.TableName, nil)}
	case *dynamodb.DeleteItemInput:
		return []Action{dynamo("DeleteItem", in.TableName, nil)}
	case *dynamodb.QueryInput:
		return []Action{dynamo("Query", in.TableName, in.IndexName)}
	case *dynamodb.ScanInput:
		return []Action{dynamo("Scan", in.TableName, in.IndexName)}
	case *dynamodb.TransactWriteItemsInput:
		var out []Action
		for _, it := range in.TransactItems {
			switch {
			case it.Put != nil:
				out = append(out, dynamo("PutItem", it.Put.TableName, nil))
			case it.Update != nil:
				out = append(out, dynamo("UpdateItem", it.Update.TableName, nil))
			case it.Delete != nil:
				out = append(out, dynamo("DeleteItem", it.Delete.TableName, nil))
			case it.ConditionCheck != nil:
				out = append(out, dynamo("ConditionCheckItem", it.ConditionCheck.TableName, nil))
			}
		}
		return out
	case *dynamodb.TransactGetItemsInput:
		var out []Action
		for _, it := range in.TransactItems {
			if it.Get != nil {
				out = append(out, dynamo("GetItem", it.Get.TableName, nil))
			}
		}
		return out
	case *dynamodb.BatchGetItemInput:
		var out []Action
		for _, table := range sortedTables(in.RequestItems) {
			out = append(out, dynamo("BatchGetItem", aws.String(table), nil))
		}
		return out
	case *dynamodb.BatchWriteItemInput:
		var out []Action
		for _, table := range sortedTables(in.RequestItems) {
			out = append(out, dynamo("BatchWriteItem", aws.String(table), nil))
		}
		return out
	}
	return []Action{{Name: prefix + ":" + op}}
}

func sortedTables[V any](m map[string]V) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}
