package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// A link is its own item, "link#<sha256 of token>", found by the token
// alone. The account's item names its latest link; consuming a link is
// conditioned on that, which is how a new link supersedes the old.

// IssueLink stores rec, makes it the account's latest link and counts the
// send, in one transaction.
func (s *Store) IssueLink(ctx context.Context, rec reset.LinkRecord, limit reset.SendLimit, now time.Time) error {
	link, err := s.linkPut(rec)
	if err != nil {
		return err
	}
	sd := newSends(limit)
	restart := false
	for range maxTries {
		u := sd.counted(expression.Set(expression.Name(attrLinkHash), expression.Value(string(rec.Hash))), now, restart)
		e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(sd.allowed(now, restart)))
		if err != nil {
			return err
		}
		state := transactUpdate(s.tokens, keyOf(stateKey(rec.Subject)), e)
		// The account's state as it was tells which send rule refused.
		state.Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{link, state}})
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			if err != nil {
				return fmt.Errorf("issue link: %w", err)
			}
			return nil
		}
		if onlyConflicts(canceled) || len(canceled.CancellationReasons) < 2 {
			continue
		}
		if restart, err = sd.judge(canceled.CancellationReasons[1].Item, now); err != nil {
			return err
		}
	}
	return fmt.Errorf("issue link: %w", errContention)
}

func (s *Store) linkPut(rec reset.LinkRecord) (types.TransactWriteItem, error) {
	// Rule: never overwrite a link (256-bit tokens do not collide; this
	// makes sure of it).
	e, err := build(expression.NewBuilder().WithCondition(expression.Name(attrPK).AttributeNotExists()))
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.tokens),
		Item: map[string]types.AttributeValue{
			attrPK:        &types.AttributeValueMemberS{Value: linkKey(rec.Hash)},
			attrSubject:   &types.AttributeValueMemberS{Value: rec.Subject},
			attrAccountID: &types.AttributeValueMemberS{Value: rec.AccountID},
			attrLinkSV:    numberValue(rec.SessionVersion),
			attrExpiresAt: numberValue(unix(rec.ExpiresAt)),
		},
		ConditionExpression:      e.Condition(),
		ExpressionAttributeNames: e.Names(),
	}}, nil
}

// WithdrawLink unnames a link whose mail failed, which kills it, and gives
// the send back. It does nothing if a newer link has replaced rec.
func (s *Store) WithdrawLink(ctx context.Context, rec reset.LinkRecord) error {
	u := expression.Remove(expression.Name(attrLinkHash)).
		Remove(expression.Name(attrLastSentAt)).
		Set(expression.Name(attrSends), expression.Name(attrSends).Minus(expression.Value(1)))
	// Rule: only the link this request wrote.
	cond := expression.Name(attrLinkHash).Equal(expression.Value(string(rec.Hash)))
	return s.withdraw(ctx, stateKey(rec.Subject), u, cond)
}

// FindLink reads the link stored under hash: reset.ErrInvalidToken when
// there is none, reset.ErrExpired when it is past its time but TTL has not
// deleted it yet.
func (s *Store) FindLink(ctx context.Context, hash reset.TokenHash, now time.Time) (reset.LinkRecord, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tokens),
		Key:            keyOf(linkKey(hash)),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return reset.LinkRecord{}, fmt.Errorf("get link: %w", err)
	}
	it := item(out.Item)
	if len(it) == 0 {
		return reset.LinkRecord{}, reset.ErrInvalidToken
	}
	if !stillValid(it, attrExpiresAt, now) {
		return reset.LinkRecord{}, reset.ErrExpired
	}
	sv, _ := it.num(attrLinkSV)
	exp, _ := it.num(attrExpiresAt)
	return reset.LinkRecord{
		Hash:           hash,
		Subject:        it.str(attrSubject),
		AccountID:      it.str(attrAccountID),
		SessionVersion: sv,
		ExpiresAt:      time.Unix(exp, 0),
	}, nil
}

// ConsumeLink deletes the link and sets the password in one transaction,
// conditioned on the link being unexpired, the account's latest, and
// issued under the account's current session_version. Otherwise it fails
// with reset.ErrInvalidToken.
func (s *Store) ConsumeLink(ctx context.Context, rec reset.LinkRecord, acct reset.Account, newHash string, now time.Time) error {
	// Rule: the link still exists and is unexpired, whatever TTL has done.
	live, err := build(expression.NewBuilder().WithCondition(
		expression.Name(attrPK).AttributeExists().And(expression.Name(attrExpiresAt).GreaterThan(expression.Value(unix(now))))))
	if err != nil {
		return err
	}
	// Rule: only the account's latest link works.
	latest, err := build(expression.NewBuilder().WithCondition(
		expression.Name(attrLinkHash).Equal(expression.Value(string(rec.Hash)))))
	if err != nil {
		return err
	}
	password, err := s.setPassword(acct.ID, rec.SessionVersion, newHash, now)
	if err != nil {
		return err
	}
	return s.transact(ctx, reset.ErrInvalidToken,
		types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 aws.String(s.tokens),
			Key:                       keyOf(linkKey(rec.Hash)),
			ConditionExpression:       live.Condition(),
			ExpressionAttributeNames:  live.Names(),
			ExpressionAttributeValues: live.Values(),
		}},
		types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
			TableName:                 aws.String(s.tokens),
			Key:                       keyOf(stateKey(rec.Subject)),
			ConditionExpression:       latest.Condition(),
			ExpressionAttributeNames:  latest.Names(),
			ExpressionAttributeValues: latest.Values(),
		}},
		password)
}

func numberValue(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}
