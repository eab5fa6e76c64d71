package reset

import (
	"context"
	"fmt"
	"time"
)

// LinkRequest asks for a reset link by mail.
type LinkRequest struct {
	Email Email
	IP    string
	// AcceptLanguage is the request's header: the mail's language when the
	// account names none.
	AcceptLanguage string
}

// RequestLink mails a reset link to the account's stored address. The new
// link supersedes every earlier code and link of the account: consuming
// one is conditioned on it being the account's latest.
//
// A link is not held back by the account's failure budget: it carries 256
// random bits, so wrong code guesses, which anyone who knows the email can
// make, cannot block its owner's way back in.
//
// Unknown and inactive accounts are answered as in RequestCode.
//
// Errors: *LimitError with ErrRateLimited, ErrUnknownAccount,
// ErrInactiveAccount (revealed only), or a wrapped dependency failure.
func (s *Service) RequestLink(ctx context.Context, req LinkRequest) error {
	now := s.now()
	to, err := s.recipientFor(ctx, req.IP, Lookup{Email: req.Email}, now)
	if err != nil {
		return err
	}
	token, rec, err := s.newLink(to, now)
	if err != nil {
		return err
	}
	// Stores the link and counts the send in one transaction, as for codes.
	mail, err := s.store.IssueLink(ctx, rec, s.sendLimit(), now)
	if err != nil {
		refused(ctx, err)
		return fmt.Errorf("issue link: %w", err)
	}
	if s.mailing(ctx, to, mail) {
		err = s.mailLink(ctx, to, req.AcceptLanguage, rec, linkURL(s.settings.ResetURL, token))
		if err = s.mailFailed(ctx, "link", err); err != nil {
			return err
		}
	}
	requested(ctx)
	return nil
}

// newLink makes a link for to: its token, and the record stored for it,
// which a decoy's (to.mail false) names no account.
func (s *Service) newLink(to recipient, now time.Time) (Token, LinkRecord, error) {
	token, err := newToken(s.random)
	if err != nil {
		return "", LinkRecord{}, err
	}
	rec := LinkRecord{
		Hash:           hashToken(token),
		Subject:        to.subject,
		AccountID:      to.accountID(),
		SessionVersion: to.sessionVersion(),
		ExpiresAt:      now.Add(s.settings.LinkTTL),
		Owner:          to.owner,
	}
	if to.mail {
		rec.Recipient = linkRecipient(token, to.acct.Email)
	}
	return token, rec, nil
}

// mailLink mails link, whose record is rec, to to's account, in its
// language or else acceptLanguage's; if the mail fails, rec is withdrawn.
func (s *Service) mailLink(ctx context.Context, to recipient, acceptLanguage string, rec LinkRecord, link string) error {
	return s.sendOrWithdraw(ctx,
		func(ctx context.Context) error {
			return s.mailer.SendLink(ctx, recipientOf(to.acct, acceptLanguage), link, s.settings.LinkTTL)
		},
		func(ctx context.Context) error { return s.store.WithdrawLink(ctx, rec, s.sendLimit()) })
}
