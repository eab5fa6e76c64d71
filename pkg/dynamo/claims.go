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

// The two-phase way of completing a reset (reset/complete.go), for a
// directory that sets passwords itself and so cannot join ConsumeCode's or
// ConsumeLink's transaction. A claim is a time written on the code's or
// link's item: until it, the code or link is being used, and no second
// claim and no ConsumeCode or ConsumeLink gets it. A claim ends when it is
// released, when the code or link is finished (deleted), or, after a
// crash, when its time passes; TTL plays no part.
//
// A claim is refused for exactly what ConsumeCode and ConsumeLink refuse
// on the tokens table (the conditions below are theirs); what they check
// on the users table, the directory checks when it sets the password.

// unclaimed is the rule that no two-phase reset is using the code or link
// whose claim attr holds: never claimed, released, or the claim ran out
// (attr is the first second it is free again).
func unclaimed(attr string, now time.Time) expression.ConditionBuilder {
	until := expression.Name(attr)
	return until.AttributeNotExists().Or(until.LessThanEqual(expression.Value(unix(now))))
}

// codeUsable is the rule on a name's item for using its code, by
// ConsumeCode or a claim: the very code that was checked, unexpired even if
// TTL has not deleted it, and not being used by a two-phase reset.
func codeUsable(id string, now time.Time) expression.ConditionBuilder {
	return expression.Name(attrCodeID).Equal(expression.Value(id)).
		And(expression.Name(attrCodeExpiresAt).GreaterThan(expression.Value(unix(now)))).
		And(unclaimed(attrCodeClaimedUntil, now))
}

// linkUsable is the rule on a link's item for using it, by ConsumeLink or
// a claim: the link exists and is unexpired, whatever TTL has done, and is
// not being used by a two-phase reset.
func linkUsable(now time.Time) expression.ConditionBuilder {
	return expression.Name(attrPK).AttributeExists().
		And(expression.Name(attrExpiresAt).GreaterThan(expression.Value(unix(now)))).
		And(unclaimed(attrLinkClaimedUntil, now))
}

// latestIs is the rule on an owner's item that only the account's latest
// code or link works: any newer code or link, by any of its names, kills
// the earlier ones.
func latestIs(id string) expression.ConditionBuilder {
	return expression.Name(attrLatest).Equal(expression.Value(id))
}

// ClaimCode marks the name's code as being used until now+claimFor, in one
// transaction with a check that it is still its owner's latest secret. It
// fails with reset.ErrInvalidCode when the code is not rec's (used,
// withdrawn, superseded), has expired, is claimed by another reset whose
// claim has not run out, or is no longer the account's latest: of any
// number of racing claims one succeeds.
func (s *Store) ClaimCode(ctx context.Context, rec reset.CodeRecord, now time.Time, claimFor time.Duration) error {
	claim := expression.Set(expression.Name(attrCodeClaimedUntil), expression.Value(unix(now.Add(claimFor))))
	// Rule: as in ConsumeCode, the very code that was checked, unexpired,
	// and not claimed by a reset whose claim is still running.
	e, err := build(expression.NewBuilder().WithUpdate(claim).WithCondition(codeUsable(rec.ID, now)))
	if err != nil {
		return err
	}
	// Rule: only the account's latest code or link works.
	latest, err := build(expression.NewBuilder().WithCondition(latestIs(rec.ID)))
	if err != nil {
		return err
	}
	return s.transact(ctx, reset.ErrInvalidCode,
		transactUpdate(s.tokens, keyOf(stateKey(rec.Subject)), e),
		transactCheck(s.tokens, keyOf(ownerKey(rec.Owner)), latest))
}

// errNothingToFinish is FinishCode's refused transaction: rec's code is
// gone already.
var errNothingToFinish = errors.New("code already finished or replaced")

// FinishCode deletes the name's code, its claim with it, once the password
// is set or the account was found changed: what ConsumeCode does, without
// the password. A code that is no longer rec's (finished already,
// withdrawn, replaced by a newer one) is left alone, and that is no error:
// nothing of rec's is left to finish.
func (s *Store) FinishCode(ctx context.Context, rec reset.CodeRecord, done reset.Receipt, limit reset.GuessLimit) error {
	failures := window{prefix: windowFailures, limit: limit.Failures, scope: reset.ScopeAccount}
	// The right guess was counted as a failure before it was compared; it
	// is not one, on the name nor on the account, even when the account
	// turns out changed: the guess was right.
	u := failures.uncounted(removeCode(expression.UpdateBuilder{}))
	// Rule: only the code that was claimed; a newer code must not be
	// deleted. It is also what makes the failure given back once: a
	// repeated finish finds no code and cancels the whole transaction,
	// the owner's half with it.
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(expression.Name(attrCodeID).Equal(expression.Value(rec.ID))))
	if err != nil {
		return err
	}
	// The owner's item must exist (an update would create it); unlike
	// ConsumeCode, the code need not still be its latest: it was when it
	// was claimed, and a code or link issued since does not make the right
	// guess a failure.
	own, err := build(expression.NewBuilder().WithUpdate(failures.uncounted(expression.UpdateBuilder{})).
		WithCondition(expression.Name(attrPK).AttributeExists()))
	if err != nil {
		return err
	}
	// done, if any, is written with it: a receipt stands only for a code
	// that this finish used up.
	err = s.transact(ctx, errNothingToFinish, s.withReceipt(done,
		transactUpdate(s.tokens, keyOf(stateKey(rec.Subject)), e),
		transactUpdate(s.tokens, keyOf(ownerKey(rec.Owner)), own))...)
	if errors.Is(err, errNothingToFinish) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish code: %w", err)
	}
	return nil
}

// ReleaseCode lifts rec's claim so that the same code can be used again
// (the directory refused the password, or failed). It does nothing if the
// code is no longer rec's: there is no claim of ours on another code. It
// lifts the claim whoever made it; only the claim's holder calls it, and
// no claim outlives the call that made it (claimFor is longer than a
// function runs).
func (s *Store) ReleaseCode(ctx context.Context, rec reset.CodeRecord) error {
	u := expression.Remove(expression.Name(attrCodeClaimedUntil))
	// Rule: only rec's code.
	if _, err := s.updateIf(ctx, stateKey(rec.Subject), u, expression.Name(attrCodeID).Equal(expression.Value(rec.ID))); err != nil {
		return fmt.Errorf("release code: %w", err)
	}
	return nil
}

// ClaimLink marks the link as being used until now+claimFor, in one
// transaction with a check that it is still its owner's latest secret. It
// fails with reset.ErrInvalidToken when the link is gone (used, TTL), has
// expired, is claimed by another reset whose claim has not run out, or is
// no longer the account's latest: of any number of racing claims one
// succeeds.
func (s *Store) ClaimLink(ctx context.Context, rec reset.LinkRecord, now time.Time, claimFor time.Duration) error {
	claim := expression.Set(expression.Name(attrLinkClaimedUntil), expression.Value(unix(now.Add(claimFor))))
	// Rule: as in ConsumeLink, the link exists, unexpired, and not claimed
	// by a reset whose claim is still running.
	e, err := build(expression.NewBuilder().WithUpdate(claim).WithCondition(linkUsable(now)))
	if err != nil {
		return err
	}
	// Rule: only the account's latest code or link works.
	latest, err := build(expression.NewBuilder().WithCondition(latestIs(string(rec.Hash))))
	if err != nil {
		return err
	}
	return s.transact(ctx, reset.ErrInvalidToken,
		transactUpdate(s.tokens, keyOf(linkKey(rec.Hash)), e),
		transactCheck(s.tokens, keyOf(ownerKey(rec.Owner)), latest))
}

// FinishLink deletes the link, its claim with it, and stores done unless
// it is the zero Receipt, in one transaction. The key is the link's own
// hash, so no condition is needed to spare another record, and deleting a
// link that is gone already is no error.
func (s *Store) FinishLink(ctx context.Context, rec reset.LinkRecord, done reset.Receipt) error {
	del := types.TransactWriteItem{Delete: &types.Delete{
		TableName: aws.String(s.tokens),
		Key:       keyOf(linkKey(rec.Hash)),
	}}
	var err error
	if done == (reset.Receipt{}) {
		_, err = s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: del.Delete.TableName, Key: del.Delete.Key})
	} else {
		err = s.transact(ctx, errNothingToFinish, del, s.receiptPut(done))
	}
	if err != nil {
		return fmt.Errorf("finish link: %w", err)
	}
	return nil
}

// ReleaseLink lifts the link's claim so that it can be used again; see
// ReleaseCode. A link that is gone is left gone.
func (s *Store) ReleaseLink(ctx context.Context, rec reset.LinkRecord) error {
	u := expression.Remove(expression.Name(attrLinkClaimedUntil))
	// Rule: the link exists; an update would otherwise create it.
	if _, err := s.updateIf(ctx, linkKey(rec.Hash), u, expression.Name(attrPK).AttributeExists()); err != nil {
		return fmt.Errorf("release link: %w", err)
	}
	return nil
}
