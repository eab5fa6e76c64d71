package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// AccountByEmail finds the account whose email attribute is email (already
// lower-cased): reset.ErrUnknownAccount when there is none.
func (s *Store) AccountByEmail(ctx context.Context, email string) (reset.Account, error) {
	return s.queryAccount(ctx, s.users.EmailIndex, s.users.EmailAttribute, email)
}

// AccountByUsername finds the account by user name: reset.ErrUnknownAccount
// when there is none or the table has no user-name index.
func (s *Store) AccountByUsername(ctx context.Context, username string) (reset.Account, error) {
	if s.users.UsernameIndex == "" {
		return reset.Account{}, reset.ErrUnknownAccount
	}
	return s.queryAccount(ctx, s.users.UsernameIndex, s.users.UsernameAttribute, username)
}

// AccountByID reads the account by its key, strongly consistent.
func (s *Store) AccountByID(ctx context.Context, id string) (reset.Account, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.users.Name),
		Key:            map[string]types.AttributeValue{s.users.KeyAttribute: &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return reset.Account{}, fmt.Errorf("get account: %w", err)
	}
	if len(out.Item) == 0 {
		return reset.Account{}, reset.ErrUnknownAccount
	}
	return s.account(out.Item), nil
}

func (s *Store) queryAccount(ctx context.Context, index, attr, value string) (reset.Account, error) {
	// Only the attributes a lookup needs, never the password hash: the
	// functions' policies allow a Query nothing else (dynamodb:Attributes
	// and dynamodb:Select), even on a team's index that projects ALL.
	names := map[string]string{"#k": attr}
	var projection []string
	for i, a := range s.users.lookupAttributes() {
		p := "#a" + strconv.Itoa(i)
		names[p] = a
		projection = append(projection, p)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.users.Name),
		IndexName:                 aws.String(index),
		KeyConditionExpression:    aws.String("#k = :v"),
		Select:                    types.SelectSpecificAttributes,
		ProjectionExpression:      aws.String(strings.Join(projection, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: map[string]types.AttributeValue{":v": &types.AttributeValueMemberS{Value: value}},
		Limit:                     aws.Int32(2),
	})
	if err != nil {
		return reset.Account{}, fmt.Errorf("query %s: %w", index, err)
	}
	switch len(out.Items) {
	case 0:
		return reset.Account{}, reset.ErrUnknownAccount
	case 1:
		return s.account(out.Items[0]), nil
	default:
		// Two accounts answering to one email or user name: a users table
		// that does not enforce uniqueness, which must not pick one.
		return reset.Account{}, reset.ErrAmbiguousAccount
	}
}

// lookupAttributes are what finding an account by email or user name reads:
// what a send needs (who, where to mail and in which language, whether
// active, the session version), not the password hash. The reset flows read the whole account
// by its key once a code or link has proved right.
func (t UsersTable) lookupAttributes() []string {
	var out []string
	for _, a := range []string{t.KeyAttribute, t.EmailAttribute, t.UsernameAttribute, t.SessionVersionAttribute, t.VerifiedAttribute, t.EnabledAttribute, t.LanguageAttribute} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func (s *Store) account(raw map[string]types.AttributeValue) reset.Account {
	it, t := item(raw), s.users
	sv, _ := it.num(t.SessionVersionAttribute)
	active := true
	if t.VerifiedAttribute != "" {
		verified, _ := it.flag(t.VerifiedAttribute)
		active = verified
	}
	if t.EnabledAttribute != "" {
		if enabled, present := it.flag(t.EnabledAttribute); present && !enabled {
			active = false
		}
	}
	return reset.Account{
		ID:             it.str(t.KeyAttribute),
		Email:          it.str(t.EmailAttribute),
		Username:       it.str(t.UsernameAttribute),
		PasswordHash:   it.str(t.PasswordAttribute),
		SessionVersion: sv,
		Active:         active,
		Language:       it.str(t.LanguageAttribute),
	}
}
