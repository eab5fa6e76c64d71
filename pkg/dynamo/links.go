package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// A link is its own item, "link#<sha256 of token>", found by the token
// alone. The owner's item names the account's latest code or link;
// consuming a link is conditioned on that, which is how any newer code or
// link supersedes it.

// IssueLink stores rec, makes it the account's latest secret and counts
// the send, in one transaction.
func (s *Store) IssueLink(ctx context.Context, rec reset.LinkRecord, limit reset.SendLimit, now time.Time) (bool, error) {
	link, err := s.linkPut(rec)
	if err != nil {
		return false, err
	}
	fields := func() expression.UpdateBuilder {
		return expression.Set(expression.Name(attrLinkHash), expression.Value(string(rec.Hash)))
	}
	return s.issue(ctx, []types.TransactWriteItem{link}, rec.Subject, fields, rec.Owner, string(rec.Hash), limit, now)
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
			attrOwner:     &types.AttributeValueMemberS{Value: rec.Owner},
			attrRecipient: &types.AttributeValueMemberS{Value: rec.Recipient},
		},
		ConditionExpression:      e.Condition(),
		ExpressionAttributeNames: e.Names(),
	}}, nil
}

// WithdrawLink unnames a link whose mail failed, which kills it, and gives
// the send back. It does nothing if a newer link has replaced rec.
func (s *Store) WithdrawLink(ctx context.Context, rec reset.LinkRecord, limit reset.SendLimit) error {
	u := newSends(limit).w.uncounted(expression.Remove(expression.Name(attrLinkHash)).Remove(expression.Name(attrLastSentAt)))
	// Rule: only the link this request wrote.
	cond := expression.Name(attrLinkHash).Equal(expression.Value(string(rec.Hash)))
	if err := s.withdraw(ctx, stateKey(rec.Subject), u, cond); err != nil {
		return err
	}
	return s.withdrawLatest(ctx, rec.Owner, string(rec.Hash), limit)
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
		Owner:          it.str(attrOwner),
		Recipient:      it.str(attrRecipient),
	}, nil
}

// ConsumeLink deletes the link, sets the password and stores done (a
// repeat's answer, reset/retry.go) in one transaction,
// conditioned on the link being unexpired, unclaimed by a two-phase reset
// (ClaimLink), the account's latest code or link, and issued under the
// account's current session_version and email. Otherwise it fails with
// reset.ErrInvalidToken.
func (s *Store) ConsumeLink(ctx context.Context, rec reset.LinkRecord, acct reset.Account, newHash string, done reset.Receipt, now time.Time) error {
	// Rule: the link exists, unexpired whatever TTL has done, and
	// unclaimed, as in ConsumeCode.
	live, err := build(expression.NewBuilder().WithCondition(linkUsable(now)))
	if err != nil {
		return err
	}
	// Rule: only the account's latest code or link works.
	latest, err := build(expression.NewBuilder().WithCondition(latestIs(string(rec.Hash))))
	if err != nil {
		return err
	}
	password, err := s.setPassword(acct, rec.SessionVersion, newHash, now)
	if err != nil {
		return err
	}
	return s.transact(ctx, reset.ErrInvalidToken, s.withReceipt(done,
		types.TransactWriteItem{Delete: &types.Delete{
			TableName:                 aws.String(s.tokens),
			Key:                       keyOf(linkKey(rec.Hash)),
			ConditionExpression:       live.Condition(),
			ExpressionAttributeNames:  live.Names(),
			ExpressionAttributeValues: live.Values(),
		}},
		transactCheck(s.tokens, keyOf(ownerKey(rec.Owner)), latest),
		password)...)
}

func numberValue(n int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}
