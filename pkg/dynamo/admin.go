package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NewAccount is an account to add, for the CLI, the dev server and tests;
// the service itself never creates accounts.
type NewAccount struct {
	ID           string
	Email        string
	Username     string
	PasswordHash string
	Verified     bool
	Enabled      bool
	// Language is the account's language for its mails; "" for none.
	Language string
}

// PutAccount adds an account, refusing to overwrite one with the same key.
func (s *Store) PutAccount(ctx context.Context, a NewAccount) error {
	t := s.users
	it := map[string]types.AttributeValue{
		t.KeyAttribute:            &types.AttributeValueMemberS{Value: a.ID},
		t.EmailAttribute:          &types.AttributeValueMemberS{Value: strings.ToLower(strings.TrimSpace(a.Email))},
		t.PasswordAttribute:       &types.AttributeValueMemberS{Value: a.PasswordHash},
		t.SessionVersionAttribute: numberValue(0),
	}
	if a.Username != "" {
		it[t.UsernameAttribute] = &types.AttributeValueMemberS{Value: a.Username}
	}
	if t.VerifiedAttribute != "" {
		it[t.VerifiedAttribute] = &types.AttributeValueMemberBOOL{Value: a.Verified}
	}
	if t.EnabledAttribute != "" {
		it[t.EnabledAttribute] = &types.AttributeValueMemberBOOL{Value: a.Enabled}
	}
	if t.LanguageAttribute != "" && a.Language != "" {
		it[t.LanguageAttribute] = &types.AttributeValueMemberS{Value: a.Language}
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(t.Name),
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#k)"),
		ExpressionAttributeNames: map[string]string{"#k": t.KeyAttribute},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return fmt.Errorf("put account %q: an account with that id exists", a.ID)
	}
	if err != nil {
		return fmt.Errorf("put account: %w", err)
	}
	return nil
}

// SetPassword changes an account's password outside the reset flows, as an
// app's own "change password" or an admin would: it bumps session_version,
// which kills every outstanding code and link of the account.
func (s *Store) SetPassword(ctx context.Context, id, newHash string, now time.Time) error {
	acct, err := s.AccountByID(ctx, id)
	if err != nil {
		return err
	}
	w, err := s.setPassword(acct, acct.SessionVersion, newHash, now)
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 w.Update.TableName,
		Key:                       w.Update.Key,
		UpdateExpression:          w.Update.UpdateExpression,
		ConditionExpression:       w.Update.ConditionExpression,
		ExpressionAttributeNames:  w.Update.ExpressionAttributeNames,
		ExpressionAttributeValues: w.Update.ExpressionAttributeValues,
	})
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// TablesAPI is the part of the DynamoDB client that creates tables.
type TablesAPI interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, opts ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

// CreateTables creates the tokens table (with TTL on expires_at) and a users
// table in the layout of DefaultUsersTable, as template.yaml does, and
// waits until both are active. A table that already exists is left alone.
// A users table with no Name (the accounts live elsewhere: a hook) is not
// created.
func CreateTables(ctx context.Context, db TablesAPI, tokens string, users UsersTable) error {
	str := types.ScalarAttributeTypeS
	if err := createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:            aws.String(tokens),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(attrPK), AttributeType: str}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(attrPK), KeyType: types.KeyTypeHash}},
	}); err != nil {
		return err
	}
	if _, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(tokens),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(attrExpiresAt), Enabled: aws.Bool(true)},
	}); err != nil && !strings.Contains(err.Error(), "already enabled") {
		return fmt.Errorf("enable TTL on %s: %w", tokens, err)
	}
	if users.Name == "" {
		return nil
	}

	attrs := []types.AttributeDefinition{{AttributeName: aws.String(users.KeyAttribute), AttributeType: str}}
	var indexes []types.GlobalSecondaryIndex
	for _, ix := range []struct{ name, attr string }{{users.EmailIndex, users.EmailAttribute}, {users.UsernameIndex, users.UsernameAttribute}} {
		if ix.name == "" {
			continue
		}
		attrs = append(attrs, types.AttributeDefinition{AttributeName: aws.String(ix.attr), AttributeType: str})
		indexes = append(indexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(ix.name),
			KeySchema: []types.KeySchemaElement{{AttributeName: aws.String(ix.attr), KeyType: types.KeyTypeHash}},
			// As the template makes them: no password hash in an index.
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeInclude, NonKeyAttributes: slices.DeleteFunc(users.lookupAttributes(), func(a string) bool {
				return a == users.KeyAttribute || a == ix.attr
			})},
		})
	}
	return createTable(ctx, db, &dynamodb.CreateTableInput{
		TableName:              aws.String(users.Name),
		BillingMode:            types.BillingModePayPerRequest,
		AttributeDefinitions:   attrs,
		KeySchema:              []types.KeySchemaElement{{AttributeName: aws.String(users.KeyAttribute), KeyType: types.KeyTypeHash}},
		GlobalSecondaryIndexes: indexes,
	})
}

func createTable(ctx context.Context, db TablesAPI, in *dynamodb.CreateTableInput) error {
	_, err := db.CreateTable(ctx, in)
	var exists *types.ResourceInUseException
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("create table %s: %w", aws.ToString(in.TableName), err)
	}
	waiter := dynamodb.NewTableExistsWaiter(db)
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName}, 2*time.Minute); err != nil {
		return fmt.Errorf("wait for table %s: %w", aws.ToString(in.TableName), err)
	}
	return nil
}
