package reset

import (
	"context"
	"fmt"
	"time"
)

// CodeRequest asks for a one-time code by mail.
type CodeRequest struct {
	Account Lookup
	IP      string
	// Device is the requester's User-Agent; with BindDevice the code only
	// works from the same one (seed 004).
	Device     string
	BindDevice bool
}

// RequestCode mails a new one-time code to the account's stored address,
// replacing any earlier code.
//
// An unknown or inactive account is answered exactly like a known one: the
// same limits are counted and a decoy record is written under the keyed
// hash of the email, and the time a mail would take is spent, but nothing is
// mailed. With RevealUnknownAccounts it returns ErrUnknownAccount or
// ErrInactiveAccount instead.
//
// Errors: *LimitError with ErrRateLimited (per-IP or per-account send limit),
// ErrUnknownAccount, ErrInactiveAccount, or a wrapped dependency failure.
func (s *Service) RequestCode(ctx context.Context, req CodeRequest) error {
	now := s.now()
	to, err := s.recipientFor(ctx, req.IP, req.Account, now)
	if err != nil {
		return err
	}
	key, err := s.keys.Current(ctx)
	if err != nil {
		return fmt.Errorf("code key: %w", err)
	}
	code, err := newCode(s.random, s.settings.OTPLength)
	if err != nil {
		return err
	}
	id, err := newID(s.random)
	if err != nil {
		return err
	}
	rec := CodeRecord{
		Subject:        to.subject,
		AccountID:      to.accountID(),
		ID:             id,
		Hash:           hashCode(key, to.subject, id, code),
		KeyID:          key.ID,
		ExpiresAt:      now.Add(s.settings.OTPTTL),
		SessionVersion: to.acct.SessionVersion,
	}
	if req.BindDevice {
		rec.Device = deviceHash(req.Device)
	}
	// The send limits are counted in the same conditional write that
	// stores the code, so twenty parallel requests cannot all pass the
	// check before any of them counts.
	if err := s.store.IssueCode(ctx, rec, s.sendLimit(), now); err != nil {
		return fmt.Errorf("issue code: %w", err)
	}
	if !to.mail {
		s.waitLikeMail(ctx)
		return nil
	}
	err = s.sendOrWithdraw(ctx,
		func(ctx context.Context) error { return s.mailer.SendCode(ctx, to.acct.Email, code, s.settings.OTPTTL) },
		func(ctx context.Context) error { return s.store.WithdrawCode(ctx, rec) })
	if err != nil {
		return fmt.Errorf("send code mail: %w", err)
	}
	return nil
}

// recipient is whom a send request is for.
type recipient struct {
	acct Account
	// mail is false for an unknown or inactive account: it gets the same
	// limits, records and answer as a known one, and no mail.
	mail bool
	// subject is the key the account's records and counters are kept
	// under (see Service.subject).
	subject string
}

// accountID is what a record stores as its account: empty on the decoy of
// an account that gets no mail, so the decoy can never be consumed.
func (r recipient) accountID() string {
	if !r.mail {
		return ""
	}
	return r.acct.ID
}

// recipientFor counts a send request against its IP, then finds whom it is
// for. The per-IP limit comes first so a flood costs one write per request
// and never reaches the users table.
func (s *Service) recipientFor(ctx context.Context, ip string, l Lookup, now time.Time) (recipient, error) {
	if err := s.store.CountRequest(ctx, PurposeSend, ip, s.ipLimit(), now); err != nil {
		return recipient{}, fmt.Errorf("count request: %w", err)
	}
	acct, known, err := s.find(ctx, l)
	if err != nil {
		return recipient{}, err
	}
	if err := s.revealed(known, acct); err != nil {
		return recipient{}, err
	}
	subject, err := s.subject(ctx, acct, known, l)
	if err != nil {
		return recipient{}, err
	}
	return recipient{acct: acct, mail: known && acct.Active, subject: subject}, nil
}

// revealed returns the seeds' "not found" outcomes when the deployer has
// chosen to reveal them, and nil otherwise.
func (s *Service) revealed(known bool, acct Account) error {
	if !s.settings.RevealUnknownAccounts {
		return nil
	}
	if !known {
		return ErrUnknownAccount
	}
	if !acct.Active {
		return ErrInactiveAccount
	}
	return nil
}
