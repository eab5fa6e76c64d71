package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/passreset/passreset/pkg/reset"
)

// A name's code and counters share one item, "acct#<subject>", so that
// counting a guess at the code and against the name's daily failure budget
// is one conditional write. The account-wide rules live in the owner's
// item, "owner#<owner>": issuing a code or link writes both in one
// transaction, and so does consuming one.

// sends is the rule on mails: limit.Max in any window, and limit.MinInterval
// between two (the interval only on a name's item).
type sends struct {
	w   window
	gap time.Duration
}

func newSends(limit reset.SendLimit) sends {
	return sends{w: window{prefix: windowSends, limit: limit.Limit, scope: reset.ScopeAccount}, gap: limit.MinInterval}
}

// allowed is the condition on a name's item for one more send.
func (sd sends) allowed(now time.Time, join bool) expression.ConditionBuilder {
	// Rule: at least MinInterval since the last mail to this name.
	spaced := expression.Name(attrLastSentAt).AttributeNotExists().Or(
		expression.Name(attrLastSentAt).LessThanEqual(expression.Value(unix(now.Add(-sd.gap)))))
	// Rule: at most Max mails in any window.
	return sd.w.hasRoom(now, join).And(spaced)
}

func (sd sends) counted(u expression.UpdateBuilder, now time.Time, join bool) expression.UpdateBuilder {
	return sd.w.counted(u, now, join).
		Set(expression.Name(attrLastSentAt), expression.Value(unix(now))).
		Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime))))
}

// judge reads a name's item as it was when allowed failed.
func (sd sends) judge(old item, now time.Time) (join bool, err error) {
	if last, ok := old.num(attrLastSentAt); ok && last > unix(now.Add(-sd.gap)) {
		return false, limitError(reset.ErrRateLimited, reset.ScopeInterval, time.Unix(last, 0).Add(sd.gap), now)
	}
	return sd.w.judge(old, now, reset.ErrRateLimited)
}

// issue writes a new code or link: extra (the link's own item, if any),
// the name's item (fields set, its sends counted) and the owner's item (the
// record made the latest, its sends counted), in one transaction. When
// only the owner's account-wide send limit refuses, the record is written
// on the name, counted there, and not made the latest, and issue returns
// false (send no mail): the request looks like any other, the new record is
// dead from the start, and the account's live code or link, which its
// owner may be about to use, stays live: a spent account-wide limit cannot
// be used to kill it with no mail to replace it.
func (s *Store) issue(ctx context.Context, extra []types.TransactWriteItem, subject string, fields func() expression.UpdateBuilder, owner, id string, limit reset.SendLimit, now time.Time) (bool, error) {
	sd := newSends(limit)
	nameAt, ownerAt := len(extra), len(extra)+1
	mail := true
	nameJoin, ownerJoin := sd.w.joins(), sd.w.joins()
	write := func() ([]types.TransactWriteItem, error) {
		name, err := build(expression.NewBuilder().WithUpdate(sd.counted(fields(), now, nameJoin)).WithCondition(sd.allowed(now, nameJoin)))
		if err != nil {
			return nil, err
		}
		kept := expression.Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime))))
		b := expression.NewBuilder().WithUpdate(kept)
		if mail {
			// Rule: at most Max mails to the account in any window,
			// whichever of its names they were asked by.
			latest := kept.Set(expression.Name(attrLatest), expression.Value(id))
			b = expression.NewBuilder().WithUpdate(sd.w.counted(latest, now, ownerJoin)).WithCondition(sd.w.hasRoom(now, ownerJoin))
		}
		own, err := build(b)
		if err != nil {
			return nil, err
		}
		items := append(append([]types.TransactWriteItem{}, extra...),
			transactUpdate(s.tokens, keyOf(stateKey(subject)), name),
			transactUpdate(s.tokens, keyOf(ownerKey(owner)), own))
		// The items as they were tell which rule refused.
		items[nameAt].Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		if mail {
			items[ownerAt].Update.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
		}
		return items, nil
	}
	judge := func(reasons []types.CancellationReason) (err error) {
		if len(reasons) != ownerAt+1 {
			return nil // no reason per item to read: try again
		}
		if r := reasons[nameAt]; failedCondition(r) {
			if nameJoin, err = sd.judge(r.Item, now); err != nil {
				return err
			}
		}
		if r := reasons[ownerAt]; failedCondition(r) {
			if ownerJoin, err = sd.w.judge(r.Item, now, reset.ErrRateLimited); err != nil {
				mail = false
			}
		}
		return nil
	}
	if err := s.conditionalTransaction(ctx, write, judge); err != nil {
		return false, err
	}
	return mail, nil
}

// IssueCode stores rec as the name's only code, replacing any earlier one,
// and makes it the account's latest secret, killing every earlier code and
// link. The name's failure budget in the same item is left as it is: a new
// code does not restore guesses.
func (s *Store) IssueCode(ctx context.Context, rec reset.CodeRecord, limit reset.SendLimit, now time.Time) (bool, error) {
	fields := func() expression.UpdateBuilder {
		return expression.Set(expression.Name(attrCodeID), expression.Value(rec.ID)).
			Set(expression.Name(attrCodeHash), expression.Value(string(rec.Hash))).
			Set(expression.Name(attrCodeKeyID), expression.Value(rec.KeyID)).
			Set(expression.Name(attrCodeExpiresAt), expression.Value(unix(rec.ExpiresAt))).
			Set(expression.Name(attrAttempts), expression.Value(0)).
			Set(expression.Name(attrCodeSV), expression.Value(rec.SessionVersion)).
			Set(expression.Name(attrAccountID), expression.Value(rec.AccountID)).
			Set(expression.Name(attrDevice), expression.Value(rec.Device)).
			Set(expression.Name(attrOwner), expression.Value(rec.Owner)).
			Set(expression.Name(attrRecipient), expression.Value(rec.Recipient)).
			// A new code is unclaimed: a claim on the code it replaces
			// (one whose finish or release failed) must not hold it.
			Remove(expression.Name(attrCodeClaimedUntil))
	}
	return s.issue(ctx, nil, rec.Subject, fields, rec.Owner, rec.ID, limit, now)
}

// codeFields are the attributes of the live code, removed together when
// the code is used or withdrawn, its claim with them.
var codeFields = []string{attrCodeID, attrCodeHash, attrCodeKeyID, attrCodeExpiresAt, attrAttempts, attrCodeSV, attrAccountID, attrDevice, attrOwner, attrRecipient, attrCodeClaimedUntil}

func removeCode(u expression.UpdateBuilder) expression.UpdateBuilder {
	for _, f := range codeFields {
		u = u.Remove(expression.Name(f))
	}
	return u
}

// WithdrawCode removes a code whose mail failed and gives its send back, on
// the name and on the owner, so the user's retry is not held back by a
// mail that never left. It does nothing if a newer code has replaced rec.
func (s *Store) WithdrawCode(ctx context.Context, rec reset.CodeRecord, limit reset.SendLimit) error {
	u := newSends(limit).w.uncounted(removeCode(expression.Remove(expression.Name(attrLastSentAt))))
	// Rule: only the code this request wrote.
	cond := expression.Name(attrCodeID).Equal(expression.Value(rec.ID))
	if err := s.withdraw(ctx, stateKey(rec.Subject), u, cond); err != nil {
		return err
	}
	return s.withdrawLatest(ctx, rec.Owner, rec.ID, limit)
}

// withdrawLatest gives the owner's send back and unnames its latest record,
// if that is still id.
func (s *Store) withdrawLatest(ctx context.Context, owner, id string, limit reset.SendLimit) error {
	u := newSends(limit).w.uncounted(expression.Remove(expression.Name(attrLatest)))
	return s.withdraw(ctx, ownerKey(owner), u, expression.Name(attrLatest).Equal(expression.Value(id)))
}

func (s *Store) withdraw(ctx context.Context, pk string, u expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	// Not applied: superseded meanwhile, nothing of ours to take back.
	if _, err := s.updateIf(ctx, pk, u, cond); err != nil {
		return fmt.Errorf("withdraw: %w", err)
	}
	return nil
}

// updateIf applies u to the item pk when cond holds, and reports whether it
// did: a refused condition is an answer here, not an error.
func (s *Store) updateIf(ctx context.Context, pk string, u expression.UpdateBuilder, cond expression.ConditionBuilder) (applied bool, err error) {
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, s.update(pk, e, types.ReturnValueNone))
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return false, nil
	}
	return err == nil, err
}

// CountGuess counts a guess at the name's code before the caller compares
// it, and returns the code as it stands after the count.
//
// Counting first is what makes the limit exact: a thousand parallel
// guesses each try to take one of MaxAttempts places with a conditional
// update, and only those that get one are ever compared. The same update
// takes a place in the name's daily failure budget.
func (s *Store) CountGuess(ctx context.Context, subject string, limit reset.GuessLimit, now time.Time) (reset.CodeRecord, error) {
	failures := window{prefix: windowFailures, limit: limit.Failures, scope: reset.ScopeAccount}
	out, err := s.conditional(ctx, failures.joins(), func(join bool) (*dynamodb.UpdateItemInput, error) {
		u := failures.counted(expression.Set(expression.Name(attrAttempts), expression.Name(attrAttempts).Plus(expression.Value(1))), now, join).
			Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime))))
		// Rule: a live code, unexpired even if TTL has not deleted it,
		// with guesses left, on a name with failures left in the last day.
		cond := expression.Name(attrCodeID).AttributeExists().
			And(expression.Name(attrCodeExpiresAt).GreaterThan(expression.Value(unix(now)))).
			And(expression.Name(attrAttempts).LessThan(expression.Value(limit.MaxAttempts))).
			And(failures.hasRoom(now, join))
		e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
		if err != nil {
			return nil, err
		}
		return s.update(stateKey(subject), e, types.ReturnValueAllNew), nil
	}, func(old item) (bool, error) {
		switch {
		case old.str(attrCodeID) == "":
			return false, reset.ErrNoCode
		case !stillValid(old, attrCodeExpiresAt, now):
			return false, reset.ErrExpired
		}
		if n, _ := old.num(attrAttempts); n >= int64(limit.MaxAttempts) {
			// The code is dead; a new one can come once the name may
			// be sent another.
			last, _ := old.num(attrLastSentAt)
			return false, limitError(reset.ErrTooManyAttempts, reset.ScopeCode, time.Unix(last, 0).Add(limit.NewCodeAfter), now)
		}
		return failures.judge(old, now, reset.ErrTooManyAttempts)
	})
	if err != nil {
		return reset.CodeRecord{}, err
	}
	return codeRecord(subject, out.Attributes), nil
}

// CountOwnerFailure takes a place in the owner's account-wide failure
// budget for a guess about to be compared. A spent budget is no error:
// the caller must not let the guess win, and must not say why.
func (s *Store) CountOwnerFailure(ctx context.Context, owner string, limit reset.Limit, now time.Time) (counted, spent bool, err error) {
	failures := window{prefix: windowFailures, limit: limit, scope: reset.ScopeAccount}
	out, err := s.conditional(ctx, failures.joins(), func(join bool) (*dynamodb.UpdateItemInput, error) {
		u := failures.counted(expression.Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime)))), now, join)
		e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(failures.hasRoom(now, join)))
		if err != nil {
			return nil, err
		}
		return s.update(ownerKey(owner), e, types.ReturnValueAllNew), nil
	}, func(old item) (bool, error) {
		return failures.judge(old, now, errSpent)
	})
	if errors.Is(err, errSpent) {
		return false, true, nil
	}
	if err != nil {
		return false, false, err
	}
	return true, failures.fullAfter(out.Attributes, now), nil
}

var errSpent = errors.New("budget spent")

// ClaimNotice records a notice to the owner unless one went out within
// window, in one conditional write, so parallel guesses send one mail.
func (s *Store) ClaimNotice(ctx context.Context, owner string, window time.Duration, now time.Time) (bool, error) {
	at := expression.Name(attrNoticeAt)
	u := expression.Set(at, expression.Value(unix(now))).
		Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime))))
	cond := at.AttributeNotExists().Or(at.LessThanEqual(expression.Value(unix(now.Add(-window)))))
	claimed, err := s.updateIf(ctx, ownerKey(owner), u, cond)
	if err != nil {
		return false, fmt.Errorf("claim notice: %w", err)
	}
	return claimed, nil
}

func stillValid(it item, attr string, now time.Time) bool {
	exp, ok := it.num(attr)
	return ok && exp > unix(now)
}

func codeRecord(subject string, it item) reset.CodeRecord {
	attempts, _ := it.num(attrAttempts)
	sv, _ := it.num(attrCodeSV)
	exp, _ := it.num(attrCodeExpiresAt)
	return reset.CodeRecord{
		Subject:        subject,
		AccountID:      it.str(attrAccountID),
		ID:             it.str(attrCodeID),
		Hash:           reset.CodeHash(it.str(attrCodeHash)),
		KeyID:          it.str(attrCodeKeyID),
		ExpiresAt:      time.Unix(exp, 0),
		Attempts:       int(attempts),
		SessionVersion: sv,
		Device:         it.str(attrDevice),
		Owner:          it.str(attrOwner),
		Recipient:      it.str(attrRecipient),
	}
}

// ConsumeCode removes the code, sets the password and stores done (a
// repeat's answer, reset/retry.go) in one transaction.
// It fails with reset.ErrInvalidCode when the code is no longer the one
// that was checked (used by a racing right guess, superseded, expired),
// is claimed by a two-phase reset (ClaimCode), is no longer its account's
// latest secret, or the account's session_version or email moved since
// the code was issued.
func (s *Store) ConsumeCode(ctx context.Context, rec reset.CodeRecord, acct reset.Account, newHash string, done reset.Receipt, limit reset.GuessLimit, now time.Time) error {
	failures := window{prefix: windowFailures, limit: limit.Failures, scope: reset.ScopeAccount}
	// The right guess was counted as a failure before it was compared;
	// it is not one, on the name nor on the account.
	u := failures.uncounted(removeCode(expression.UpdateBuilder{}))
	// Rule: the very code that was checked, unexpired, and unclaimed: a
	// two-phase reset (ClaimCode) may be setting the password right now,
	// if the deployment switched back from a Passwords directory while it
	// ran.
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(codeUsable(rec.ID, now)))
	if err != nil {
		return err
	}
	// Rule: only the account's latest code or link works.
	latest, err := build(expression.NewBuilder().WithUpdate(failures.uncounted(expression.UpdateBuilder{})).
		WithCondition(latestIs(rec.ID)))
	if err != nil {
		return err
	}
	password, err := s.setPassword(acct, rec.SessionVersion, newHash, now)
	if err != nil {
		return err
	}
	return s.transact(ctx, reset.ErrInvalidCode, s.withReceipt(done,
		transactUpdate(s.tokens, keyOf(stateKey(rec.Subject)), e),
		transactUpdate(s.tokens, keyOf(ownerKey(rec.Owner)), latest),
		password)...)
}

// setPassword is the users-table half of a reset: the new hash, the time,
// and session_version bumped, conditioned on session_version being the one
// the code or link was issued under, so any password change since (by
// another reset, the app or an admin) kills it, and on the email being the
// one just checked, so an address changed meanwhile kills it too.
func (s *Store) setPassword(acct reset.Account, sessionVersion int64, newHash string, now time.Time) (types.TransactWriteItem, error) {
	t := s.users
	sv := expression.Name(t.SessionVersionAttribute)
	u := expression.Set(expression.Name(t.PasswordAttribute), expression.Value(newHash)).
		Set(sv, expression.Plus(expression.IfNotExists(sv, expression.Value(0)), expression.Value(1))).
		Set(expression.Name(t.PasswordChangedAtAttribute), expression.Value(now.UTC().Format(time.RFC3339)))
	same := sv.Equal(expression.Value(sessionVersion))
	if sessionVersion == 0 {
		same = sv.AttributeNotExists().Or(same)
	}
	cond := expression.Name(t.KeyAttribute).AttributeExists().And(same).
		And(expression.Name(t.EmailAttribute).Equal(expression.Value(acct.Email)))
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return transactUpdate(t.Name, map[string]types.AttributeValue{t.KeyAttribute: &types.AttributeValueMemberS{Value: acct.ID}}, e), nil
}
