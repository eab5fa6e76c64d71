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

// The support commands' reads and writes (reset.Support). They work on
// the tokens table alone, but BumpSessionVersion, so on every back-end.

var (
	_ reset.SupportStore    = (*Store)(nil)
	_ reset.SessionVersions = (*Store)(nil)
)

// attrSupportLink, on an owner's item, is the hash of the link that
// reset.Support.Compromised mailed, so a second run can tell it apart.
const attrSupportLink = "support_link"

// get reads one tokens-table item, consistently; an empty item when there
// is none.
func (s *Store) get(ctx context.Context, pk string) (item, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tokens),
		Key:            keyOf(pk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("get %s item: %w", pkKind(pk), err)
	}
	return item(out.Item), nil
}

// pkKind names an item's kind for an error, never its key, which holds a
// hash.
func pkKind(pk string) string {
	for i := 0; i < len(pk); i++ {
		if pk[i] == '#' {
			return pk[:i]
		}
	}
	return "an"
}

// counter is the window's use of it as of now.
func (w window) counter(it item, now time.Time) reset.Counter {
	c := reset.Counter{Used: w.inSpan(it, now), Max: w.limit.Max}
	oldest := int64(0)
	for i := range w.places() {
		if t, ok := it.num(w.timeAt(i)); ok && t > w.cut(now) && (oldest == 0 || t < oldest) {
			oldest = t
		}
	}
	if oldest != 0 {
		c.FreesAt = time.Unix(oldest, 0).Add(w.limit.Window)
	}
	return c
}

// RecoveryState reads the names' items, the owner's, and the link the
// owner names as its latest, and reports them without a hash in sight.
// Live is as the tokens table has it; the session_version a record was
// issued under is reported for reset.Support to check against the
// account's.
func (s *Store) RecoveryState(ctx context.Context, names []reset.NameKey, owner string, limits reset.StateLimits, now time.Time) (reset.RecoveryState, error) {
	sends := newSends(limits.Send).w
	failures := window{prefix: windowFailures, limit: limits.Guess.Failures, scope: reset.ScopeAccount}
	own, err := s.get(ctx, ownerKey(owner))
	if err != nil {
		return reset.RecoveryState{}, err
	}
	latest := own.str(attrLatest)
	st := reset.RecoveryState{Sends: sends.counter(own, now), Failures: failures.counter(own, now)}
	if at, ok := own.num(attrNoticeAt); ok {
		st.NoticeAt = time.Unix(at, 0)
	}
	for _, n := range names {
		it, err := s.get(ctx, stateKey(n.Subject))
		if err != nil {
			return reset.RecoveryState{}, err
		}
		ns := reset.NameState{By: n.By, Sends: sends.counter(it, now), Failures: failures.counter(it, now)}
		if last, ok := it.num(attrLastSentAt); ok && last > 0 {
			ns.LastSentAt = time.Unix(last, 0)
		}
		if id := it.str(attrCodeID); id != "" {
			rec := codeRecord(n.Subject, it)
			ns.Code = &reset.CodeState{
				ExpiresAt: rec.ExpiresAt, Attempts: rec.Attempts, MaxAttempts: limits.Guess.MaxAttempts,
				SessionVersion: rec.SessionVersion,
				Live:           id == latest && rec.ExpiresAt.After(now) && rec.Attempts < limits.Guess.MaxAttempts,
			}
			if id == latest {
				st.Live = "code"
				if !ns.Code.Live {
					st.Live = ""
				}
			}
		}
		st.Names = append(st.Names, ns)
	}
	if latest != "" && st.Live == "" {
		// Not a live code of these names: a link, if one is stored.
		link, err := s.get(ctx, linkKey(reset.TokenHash(latest)))
		if err != nil {
			return reset.RecoveryState{}, err
		}
		if len(link) > 0 {
			exp, _ := link.num(attrExpiresAt)
			sv, _ := link.num(attrLinkSV)
			grant, _ := link.flag(attrGrant)
			st.Link = &reset.LinkState{
				Grant:          grant,
				ExpiresAt:      time.Unix(exp, 0),
				SessionVersion: sv,
				Live:           exp > unix(now),
				FromSupport:    own.str(attrSupportLink) == latest,
			}
			switch {
			case st.Link.Live && grant:
				st.Live = "grant"
			case st.Link.Live:
				st.Live = "link"
			}
		}
	}
	return st, nil
}

// KillSecrets unnames the owner's latest record first: that one write
// kills every code, link and grant of the account, since using one is
// conditioned on it being the latest (ConsumeCode, ConsumeLink, the
// claims). Then it clears up: the names' codes, and the links the names
// and the owner point at, so nothing stale is left to read. It deletes the
// receipts it finds by the same keys, the names' codes' and those links',
// so that a repeat of a reset done before is refused after it (a receipt
// of a link no name or owner points at any more is not found, and stands
// until its window ends: see reset/retry.go).
func (s *Store) KillSecrets(ctx context.Context, names []reset.NameKey, owner string, now time.Time) (reset.Killed, error) {
	var killed reset.Killed
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tokens),
		Key:       keyOf(ownerKey(owner)),
		// Rule: only an owner item that exists (an update would create one).
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		UpdateExpression:         aws.String("REMOVE #latest, #support"),
		ExpressionAttributeNames: map[string]string{"#pk": attrPK, "#latest": attrLatest, "#support": attrSupportLink},
		ReturnValues:             types.ReturnValueUpdatedOld,
	})
	var failed *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &failed) {
		return killed, fmt.Errorf("unname latest: %w", err)
	}
	links := map[string]bool{}
	if err == nil {
		if latest := item(out.Attributes).str(attrLatest); latest != "" {
			killed.Latest = true
			links[latest] = true // a code id finds no link item: harmless
		}
	}
	for _, n := range names {
		u := removeCode(expression.Remove(expression.Name(attrLinkHash)))
		e, err := build(expression.NewBuilder().WithUpdate(u).
			WithCondition(expression.Name(attrPK).AttributeExists()))
		if err != nil {
			return killed, err
		}
		in := s.update(stateKey(n.Subject), e, types.ReturnValueUpdatedOld)
		in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureNone
		out, err := s.db.UpdateItem(ctx, in)
		if errors.As(err, &failed) {
			continue // the name was never asked by
		}
		if err != nil {
			return killed, fmt.Errorf("remove code: %w", err)
		}
		old := item(out.Attributes)
		if old.str(attrCodeID) != "" && stillValid(old, attrCodeExpiresAt, now) {
			killed.Codes++
		}
		if h := old.str(attrLinkHash); h != "" {
			links[h] = true
		}
	}
	receipts := []string{}
	for _, n := range names {
		receipts = append(receipts, reset.ReceiptOfCode(n.Subject))
	}
	for h := range links {
		receipts = append(receipts, reset.ReceiptOfToken(reset.TokenHash(h)))
	}
	for _, of := range receipts {
		if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(s.tokens),
			Key:       keyOf(receiptKey(of)),
		}); err != nil {
			return killed, fmt.Errorf("delete receipt: %w", err)
		}
	}
	for h := range links {
		out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:    aws.String(s.tokens),
			Key:          keyOf(linkKey(reset.TokenHash(h))),
			ReturnValues: types.ReturnValueAllOld,
		})
		if err != nil {
			return killed, fmt.Errorf("delete link: %w", err)
		}
		if old := item(out.Attributes); len(old) > 0 && stillValid(old, attrExpiresAt, now) {
			if grant, _ := old.flag(attrGrant); grant {
				killed.Grants++
			} else {
				killed.Links++
			}
		}
	}
	return killed, nil
}

// MarkSupportLink names link as the one Compromised mailed, if it is still
// the owner's latest record.
func (s *Store) MarkSupportLink(ctx context.Context, owner string, link reset.TokenHash) error {
	u := expression.Set(expression.Name(attrSupportLink), expression.Value(string(link)))
	// Rule: only while the link is the account's live one; a newer code
	// or link must not read as support's.
	if _, err := s.updateIf(ctx, ownerKey(owner), u, latestIs(string(link))); err != nil {
		return fmt.Errorf("mark support link: %w", err)
	}
	return nil
}

// BumpSessionVersion adds one to the account's session_version and leaves
// its password alone: every code and link issued before it stops working
// (ConsumeCode and ConsumeLink are conditioned on the version they were
// issued under), and so does every session an app checks it against.
// reset.ErrUnknownAccount when there is no such account.
func (s *Store) BumpSessionVersion(ctx context.Context, id string) error {
	t := s.users
	sv := expression.Name(t.SessionVersionAttribute)
	u := expression.Set(sv, expression.Plus(expression.IfNotExists(sv, expression.Value(0)), expression.Value(1)))
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(expression.Name(t.KeyAttribute).AttributeExists()))
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(t.Name),
		Key:                       map[string]types.AttributeValue{t.KeyAttribute: &types.AttributeValueMemberS{Value: id}},
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
		// No old values on a failed condition: they would carry the
		// password hash into the error.
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureNone,
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return reset.ErrUnknownAccount
	}
	if err != nil {
		return fmt.Errorf("bump session_version: %w", err)
	}
	return nil
}
