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
	// AcceptLanguage is the request's header: the mail's language when the
	// account names none.
	AcceptLanguage string
}

// RequestCode mails a new one-time code to the account's stored address,
// replacing every earlier code and link of the account.
//
// An unknown or inactive account is answered exactly like a known one: the
// same limits are counted and a decoy record is written under the keyed
// hash of the name, and the time a mail would take is spent, but nothing is
// mailed. With RevealUnknownAccounts it returns ErrUnknownAccount or
// ErrInactiveAccount instead.
//
// Errors: *LimitError with ErrRateLimited (per-IP or per-name send limit),
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
		SessionVersion: to.sessionVersion(),
		Owner:          to.owner,
	}
	if to.mail {
		rec.Recipient = codeRecipient(to.subjectKey, to.acct.Email)
	}
	if req.BindDevice {
		rec.Device = deviceHash(req.Device)
	}
	// The send limits are counted in the same conditional write that
	// stores the code, so twenty parallel requests cannot all pass the
	// check before any of them counts.
	mail, err := s.store.IssueCode(ctx, rec, s.sendLimit(), now)
	if err != nil {
		refused(ctx, err)
		return fmt.Errorf("issue code: %w", err)
	}
	if s.mailing(ctx, to, mail) {
		err = s.sendOrWithdraw(ctx,
			func(ctx context.Context) error {
				return s.mailer.SendCode(ctx, recipientOf(to.acct, req.AcceptLanguage), code, s.settings.OTPTTL)
			},
			func(ctx context.Context) error { return s.store.WithdrawCode(ctx, rec, s.sendLimit()) })
		if err = s.mailFailed(ctx, "code", err); err != nil {
			return err
		}
	}
	requested(ctx)
	return nil
}

// mailing decides whether a send request mails: not for an unknown or
// inactive account, nor when the account-wide send limit withheld it.
// Either way it spends the time a mail would have, so the answer does not
// tell.
func (s *Service) mailing(ctx context.Context, to recipient, allowed bool) bool {
	if to.mail && !allowed {
		s.log.InfoContext(ctx, "account-wide send limit spent through another name; no mail")
	}
	if to.mail && allowed {
		return true
	}
	s.waitLikeMail(ctx)
	return false
}

// mailFailed answers a mail that SES refused or that failed after retries,
// once its record has been withdrawn. An unknown account never calls SES,
// so a 500 here would tell that the account exists (in the SES sandbox,
// every real account): unless unknown accounts are revealed anyway, the
// request is answered as sent, and the failure goes to the operators.
func (s *Service) mailFailed(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if s.settings.RevealUnknownAccounts {
		return fmt.Errorf("send %s mail: %w", what, err)
	}
	s.log.ErrorContext(ctx, "mail failed; answered as sent, its "+what+" withdrawn", "error", err)
	return nil
}

// recipient is whom a send request is for.
type recipient struct {
	acct Account
	// mail is false for an unknown or inactive account: it gets the same
	// limits, records and answer as a known one, and no mail.
	mail bool
	// subject is the key the name's records and counters are kept under
	// (see subject), and owner the key of the account-wide state (owner).
	subject, owner string
	subjectKey     Key
}

// accountID is what a record stores as its account: empty on the decoy of
// an account that gets no mail, so the decoy can never be consumed.
func (r recipient) accountID() string {
	if !r.mail {
		return ""
	}
	return r.acct.ID
}

// sessionVersion is what a record stores of the account's: 0 on a decoy,
// whether the name is unknown or its account inactive, so decoys look
// alike in the table too.
func (r recipient) sessionVersion() int64 {
	if !r.mail {
		return 0
	}
	return r.acct.SessionVersion
}

// recipientFor counts a send request against its IP, then finds whom it is
// for. The per-IP limit comes first so a flood costs one write per request
// and never reaches the users table.
func (s *Service) recipientFor(ctx context.Context, ip string, l Lookup, now time.Time) (recipient, error) {
	if err := s.store.CountRequest(ctx, PurposeSend, ip, s.ipLimit(), now); err != nil {
		refused(ctx, err)
		return recipient{}, fmt.Errorf("count request: %w", err)
	}
	acct, known, err := s.find(ctx, l)
	if err != nil {
		return recipient{}, err
	}
	if err := s.revealed(known, acct); err != nil {
		return recipient{}, err
	}
	key, err := s.keys.Subject(ctx)
	if err != nil {
		return recipient{}, fmt.Errorf("subject key: %w", err)
	}
	to := recipient{acct: acct, mail: known && acct.Active, subject: subject(key, l), subjectKey: key}
	to.owner = owner(key, to)
	return to, nil
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
