package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// A grant (reset.VerifyCode) is stored as a link is, "link#<hash>", under
// a hash of its own domain, so it is found, used, claimed and finished by
// the link methods, and no link route can use it. It is made from a code
// here, and marked (attrGrant) so that the support commands can tell it
// from a mailed link.

// attrGrant, true on a link item, says it is a grant, never mailed.
const attrGrant = "grant"

// ExchangeCode deletes the name's code and stores grant in its place as
// the account's latest record, in one transaction: conditioned on the
// code and the owner's latest record, the very code that was checked,
// unexpired, unclaimed, and still its owner's latest. The account is not
// in it (ConsumeCode's users-table condition): it is checked again when
// the grant is used. Otherwise it fails with
// reset.ErrInvalidCode, and nothing is written: of racing right guesses
// one gets a grant. Like a reset, it gives the right guess back to the
// failure budgets it was counted against.
func (s *Store) ExchangeCode(ctx context.Context, rec reset.CodeRecord, grant reset.LinkRecord, limit reset.GuessLimit, now time.Time) error {
	failures := window{prefix: windowFailures, limit: limit.Failures, scope: reset.ScopeAccount}
	// Rule: the very code that was checked, unexpired, unclaimed.
	name, err := build(expression.NewBuilder().WithUpdate(failures.uncounted(removeCode(expression.UpdateBuilder{}))).
		WithCondition(codeUsable(rec.ID, now)))
	if err != nil {
		return err
	}
	// Rule: only the account's latest code or link works; the grant is
	// the latest from now on, so any newer code or link kills it.
	latest := failures.uncounted(expression.Set(expression.Name(attrLatest), expression.Value(string(grant.Hash))))
	own, err := build(expression.NewBuilder().WithUpdate(latest).WithCondition(latestIs(rec.ID)))
	if err != nil {
		return err
	}
	put, err := s.linkPut(grant)
	if err != nil {
		return err
	}
	put.Put.Item[attrGrant] = &types.AttributeValueMemberBOOL{Value: true}
	return s.transact(ctx, reset.ErrInvalidCode,
		transactUpdate(s.tokens, keyOf(stateKey(rec.Subject)), name),
		transactUpdate(s.tokens, keyOf(ownerKey(rec.Owner)), own),
		put)
}
