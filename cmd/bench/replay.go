package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/function"
)

// replay makes the same DynamoDB and SES calls a flow made, straight with
// the SDK on clients with no middleware, and returns how long they took:
// the floor a flow is measured against. Condition expressions are dropped
// (with the names and values only they used) so every replayed call
// succeeds as the original's work would, whatever the original changed;
// a ConditionCheck in a transaction, which is nothing but a condition, is
// dropped with them. The floor is thus what the calls cost, not the rules.
func replay(ctx context.Context, c function.Clients, calls []call) (time.Duration, error) {
	ins := make([]any, 0, len(calls))
	for _, cl := range calls {
		ins = append(ins, unconditional(cl.Input))
	}
	start := time.Now()
	for _, in := range ins {
		var err error
		switch v := in.(type) {
		case *dynamodb.GetItemInput:
			_, err = c.DynamoDB.GetItem(ctx, v)
		case *dynamodb.PutItemInput:
			_, err = c.DynamoDB.PutItem(ctx, v)
		case *dynamodb.UpdateItemInput:
			_, err = c.DynamoDB.UpdateItem(ctx, v)
		case *dynamodb.DeleteItemInput:
			_, err = c.DynamoDB.DeleteItem(ctx, v)
		case *dynamodb.QueryInput:
			_, err = c.DynamoDB.Query(ctx, v)
		case *dynamodb.TransactWriteItemsInput:
			_, err = c.DynamoDB.TransactWriteItems(ctx, v)
		case *dynamodb.TransactGetItemsInput:
			_, err = c.DynamoDB.TransactGetItems(ctx, v)
		case *sesv2.SendEmailInput:
			_, err = c.SES.SendEmail(ctx, v)
		default:
			err = fmt.Errorf("replay: no replay for %T", in)
		}
		// An answer of DynamoDB's own (a replayed update whose item the
		// original flow deleted) still made the whole round trip.
		var apiErr smithy.APIError
		if err != nil && !errors.As(err, &apiErr) {
			return 0, fmt.Errorf("replay %T: %w", in, err)
		}
	}
	return time.Since(start), nil
}

var exprToken = regexp.MustCompile(`[#:][A-Za-z0-9_]+`)

// prune keeps the names and values the expressions still use; DynamoDB
// refuses unused ones. It returns nil maps when none are left.
func prune(names map[string]string, values map[string]types.AttributeValue, exprs ...*string) (map[string]string, map[string]types.AttributeValue) {
	used := map[string]bool{}
	for _, e := range exprs {
		if e != nil {
			for _, t := range exprToken.FindAllString(*e, -1) {
				used[t] = true
			}
		}
	}
	var n map[string]string
	for k, v := range names {
		if used[k] {
			if n == nil {
				n = map[string]string{}
			}
			n[k] = v
		}
	}
	var vs map[string]types.AttributeValue
	for k, v := range values {
		if used[k] {
			if vs == nil {
				vs = map[string]types.AttributeValue{}
			}
			vs[k] = v
		}
	}
	return n, vs
}

// unconditional returns a copy of a DynamoDB input without its condition;
// other inputs are returned as they are.
func unconditional(in any) any {
	switch v := in.(type) {
	case *dynamodb.PutItemInput:
		c := *v
		c.ConditionExpression, c.ReturnValuesOnConditionCheckFailure = nil, ""
		c.ExpressionAttributeNames, c.ExpressionAttributeValues = prune(v.ExpressionAttributeNames, v.ExpressionAttributeValues)
		return &c
	case *dynamodb.UpdateItemInput:
		c := *v
		c.ConditionExpression, c.ReturnValuesOnConditionCheckFailure = nil, ""
		c.ExpressionAttributeNames, c.ExpressionAttributeValues = prune(v.ExpressionAttributeNames, v.ExpressionAttributeValues, v.UpdateExpression)
		return &c
	case *dynamodb.DeleteItemInput:
		c := *v
		c.ConditionExpression, c.ReturnValuesOnConditionCheckFailure = nil, ""
		c.ExpressionAttributeNames, c.ExpressionAttributeValues = prune(v.ExpressionAttributeNames, v.ExpressionAttributeValues)
		return &c
	case *dynamodb.TransactWriteItemsInput:
		c := *v
		c.TransactItems = nil
		for _, it := range v.TransactItems {
			switch {
			case it.Put != nil:
				p := *it.Put
				p.ConditionExpression, p.ReturnValuesOnConditionCheckFailure = nil, ""
				p.ExpressionAttributeNames, p.ExpressionAttributeValues = prune(p.ExpressionAttributeNames, p.ExpressionAttributeValues)
				c.TransactItems = append(c.TransactItems, types.TransactWriteItem{Put: &p})
			case it.Update != nil:
				u := *it.Update
				u.ConditionExpression, u.ReturnValuesOnConditionCheckFailure = nil, ""
				u.ExpressionAttributeNames, u.ExpressionAttributeValues = prune(u.ExpressionAttributeNames, u.ExpressionAttributeValues, u.UpdateExpression)
				c.TransactItems = append(c.TransactItems, types.TransactWriteItem{Update: &u})
			case it.Delete != nil:
				d := *it.Delete
				d.ConditionExpression, d.ReturnValuesOnConditionCheckFailure = nil, ""
				d.ExpressionAttributeNames, d.ExpressionAttributeValues = prune(d.ExpressionAttributeNames, d.ExpressionAttributeValues)
				c.TransactItems = append(c.TransactItems, types.TransactWriteItem{Delete: &d})
			}
		}
		return &c
	}
	return in
}
