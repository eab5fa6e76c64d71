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

// An account's codes and counters share one item, "acct#<subject>", so that
// issuing a code and counting the send is one conditional write, and
// counting a guess at the code and against the account's daily failure
// budget is another.

// sends is the rule on mails to one account: limit.Max per window, and
// limit.MinInterval between two.
type sends struct {
	w   window
	gap time.Duration
}

func newSends(limit reset.SendLimit) sends {
	return sends{w: window{start: attrSendWindowStart, count: attrSends, limit: limit.Limit}, gap: limit.MinInterval}
}

// allowed is the condition on the account's item for one more send.
func (sd sends) allowed(now time.Time, restart bool) expression.ConditionBuilder {
	// Rule: at least MinInterval since the last mail to this account.
	spaced := expression.Name(attrLastSentAt).AttributeNotExists().Or(
		expression.Name(attrLastSentAt).LessThanEqual(expression.Value(unix(now.Add(-sd.gap)))))
	// Rule: at most Max mails per window to this account.
	return sd.w.condition(now, restart).And(spaced)
}

func (sd sends) counted(u expression.UpdateBuilder, now time.Time, restart bool) expression.UpdateBuilder {
	return sd.w.counted(u, now, restart).
		Set(expression.Name(attrLastSentAt), expression.Value(unix(now))).
		Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime))))
}

func (sd sends) judge(old item, now time.Time) (bool, error) {
	if last, ok := old.num(attrLastSentAt); ok && last > unix(now.Add(-sd.gap)) {
		return false, limitError(reset.ErrRateLimited, time.Unix(last, 0).Add(sd.gap), now)
	}
	return sd.w.judge(old, now, reset.ErrRateLimited)
}

// IssueCode stores rec as the account's only code, replacing any earlier
// one, and counts the send, in one conditional update. The account's
// failure budget in the same item is left as it is: a new code does not
// restore guesses.
func (s *Store) IssueCode(ctx context.Context, rec reset.CodeRecord, limit reset.SendLimit, now time.Time) error {
	sd := newSends(limit)
	_, err := s.updateWindowed(ctx, func(restart bool) (*dynamodb.UpdateItemInput, error) {
		u := expression.Set(expression.Name(attrCodeID), expression.Value(rec.ID)).
			Set(expression.Name(attrCodeHash), expression.Value(string(rec.Hash))).
			Set(expression.Name(attrCodeKeyID), expression.Value(rec.KeyID)).
			Set(expression.Name(attrCodeExpiresAt), expression.Value(unix(rec.ExpiresAt))).
			Set(expression.Name(attrAttempts), expression.Value(0)).
			Set(expression.Name(attrCodeSV), expression.Value(rec.SessionVersion)).
			Set(expression.Name(attrAccountID), expression.Value(rec.AccountID)).
			Set(expression.Name(attrDevice), expression.Value(rec.Device))
		e, err := build(expression.NewBuilder().WithUpdate(sd.counted(u, now, restart)).WithCondition(sd.allowed(now, restart)))
		if err != nil {
			return nil, err
		}
		return s.update(stateKey(rec.Subject), e, types.ReturnValueNone), nil
	}, func(old item) (bool, error) {
		return sd.judge(old, now)
	})
	return err
}

// codeFields are the attributes of the live code, removed together when
// the code is used or withdrawn.
var codeFields = []string{attrCodeID, attrCodeHash, attrCodeKeyID, attrCodeExpiresAt, attrAttempts, attrCodeSV, attrAccountID, attrDevice}

func removeCode(u expression.UpdateBuilder) expression.UpdateBuilder {
	for _, f := range codeFields {
		u = u.Remove(expression.Name(f))
	}
	return u
}

// WithdrawCode removes a code whose mail failed and gives its send back, so
// the user's retry is not held back by a mail that never left. It does
// nothing if a newer code has replaced rec.
func (s *Store) WithdrawCode(ctx context.Context, rec reset.CodeRecord) error {
	u := removeCode(expression.UpdateBuilder{}).
		Remove(expression.Name(attrLastSentAt)).
		Set(expression.Name(attrSends), expression.Name(attrSends).Minus(expression.Value(1)))
	// Rule: only the code this request wrote.
	cond := expression.Name(attrCodeID).Equal(expression.Value(rec.ID))
	return s.withdraw(ctx, stateKey(rec.Subject), u, cond)
}

func (s *Store) withdraw(ctx context.Context, pk string, u expression.UpdateBuilder, cond expression.ConditionBuilder) error {
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
	if err != nil {
		return err
	}
	_, err = s.db.UpdateItem(ctx, s.update(pk, e, types.ReturnValueNone))
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return nil // superseded meanwhile: nothing of ours to take back
	}
	if err != nil {
		return fmt.Errorf("withdraw: %w", err)
	}
	return nil
}

// CountGuess counts a guess at the account's code before the caller
// compares it, and returns the code as it stands after the count.
//
// Counting first is what makes the limit exact: a thousand parallel
// guesses each try to take one of MaxAttempts places with a conditional
// update, and only those that get one are ever compared. The same update
// takes a place in the account's daily failure budget.
func (s *Store) CountGuess(ctx context.Context, subject string, limit reset.GuessLimit, now time.Time) (reset.CodeRecord, error) {
	failures := window{start: attrFailWindowStart, count: attrFailures, limit: limit.Failures}
	out, err := s.updateWindowed(ctx, func(restart bool) (*dynamodb.UpdateItemInput, error) {
		u := failures.counted(expression.Set(expression.Name(attrAttempts), expression.Name(attrAttempts).Plus(expression.Value(1))), now, restart).
			Set(expression.Name(attrExpiresAt), expression.Value(unix(now.Add(stateLifetime))))
		// Rule: a live code, unexpired even if TTL has not deleted it,
		// with guesses left, on an account with failures left today.
		cond := expression.Name(attrCodeID).AttributeExists().
			And(expression.Name(attrCodeExpiresAt).GreaterThan(expression.Value(unix(now)))).
			And(expression.Name(attrAttempts).LessThan(expression.Value(limit.MaxAttempts))).
			And(failures.condition(now, restart))
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
			// The code is dead; a new one can come once the account may
			// be sent another.
			last, _ := old.num(attrLastSentAt)
			return false, limitError(reset.ErrTooManyAttempts, time.Unix(last, 0).Add(limit.NewCodeAfter), now)
		}
		return failures.judge(old, now, reset.ErrTooManyAttempts)
	})
	if err != nil {
		return reset.CodeRecord{}, err
	}
	return codeRecord(subject, out.Attributes), nil
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
	}
}

// ConsumeCode removes the code and sets the password in one transaction.
// It fails with reset.ErrInvalidCode when the code is no longer the one
// that was checked (used by a racing right guess, superseded, expired) or
// the account's session_version moved since the code was issued.
func (s *Store) ConsumeCode(ctx context.Context, rec reset.CodeRecord, acct reset.Account, newHash string, now time.Time) error {
	// The right guess was counted as a failure before it was compared;
	// it is not one.
	u := removeCode(expression.Set(expression.Name(attrFailures), expression.Name(attrFailures).Minus(expression.Value(1))))
	// Rule: the very code that was checked, still unexpired.
	cond := expression.Name(attrCodeID).Equal(expression.Value(rec.ID)).
		And(expression.Name(attrCodeExpiresAt).GreaterThan(expression.Value(unix(now))))
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
	if err != nil {
		return err
	}
	code := transactUpdate(s.tokens, keyOf(stateKey(rec.Subject)), e)
	password, err := s.setPassword(acct.ID, rec.SessionVersion, newHash, now)
	if err != nil {
		return err
	}
	return s.transact(ctx, reset.ErrInvalidCode, code, password)
}

// transact runs the items as one transaction. A condition that fails turns
// into refused; a conflict with another transaction on the same items is
// tried again, since it says nothing about the conditions.
func (s *Store) transact(ctx context.Context, refused error, items ...types.TransactWriteItem) error {
	in := &dynamodb.TransactWriteItemsInput{TransactItems: items}
	for range maxTries {
		_, err := s.db.TransactWriteItems(ctx, in)
		var canceled *types.TransactionCanceledException
		if !errors.As(err, &canceled) {
			if err != nil {
				return fmt.Errorf("transaction: %w", err)
			}
			return nil
		}
		if !onlyConflicts(canceled) {
			return refused
		}
	}
	return fmt.Errorf("transaction: %w", errContention)
}

func onlyConflicts(c *types.TransactionCanceledException) bool {
	conflict := false
	for _, r := range c.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "TransactionConflict":
			conflict = true
		default:
			return false
		}
	}
	return conflict
}

// setPassword is the users-table half of a reset: the new hash, the time,
// and session_version bumped, conditioned on session_version being the one
// the code or link was issued under, so any password change since (by
// another reset, the app or an admin) kills it.
func (s *Store) setPassword(id string, sessionVersion int64, newHash string, now time.Time) (types.TransactWriteItem, error) {
	t := s.users
	sv := expression.Name(t.SessionVersionAttribute)
	u := expression.Set(expression.Name(t.PasswordAttribute), expression.Value(newHash)).
		Set(sv, expression.Plus(expression.IfNotExists(sv, expression.Value(0)), expression.Value(1))).
		Set(expression.Name(t.PasswordChangedAtAttribute), expression.Value(now.UTC().Format(time.RFC3339)))
	same := sv.Equal(expression.Value(sessionVersion))
	if sessionVersion == 0 {
		same = sv.AttributeNotExists().Or(same)
	}
	cond := expression.Name(t.KeyAttribute).AttributeExists().And(same)
	e, err := build(expression.NewBuilder().WithUpdate(u).WithCondition(cond))
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return transactUpdate(t.Name, map[string]types.AttributeValue{t.KeyAttribute: &types.AttributeValueMemberS{Value: id}}, e), nil
}
