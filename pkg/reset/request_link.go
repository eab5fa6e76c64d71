package reset

import (
	"context"
	"fmt"
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
	token, err := newToken(s.random)
	if err != nil {
		return err
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
	// Stores the link and counts the send in one transaction, as for codes.
	mail, err := s.store.IssueLink(ctx, rec, s.sendLimit(), now)
	if err != nil {
		refused(ctx, err)
		return fmt.Errorf("issue link: %w", err)
	}
	if s.mailing(ctx, to, mail) {
		link := linkURL(s.settings.ResetURL, token)
		err = s.sendOrWithdraw(ctx,
			func(ctx context.Context) error {
				return s.mailer.SendLink(ctx, recipientOf(to.acct, req.AcceptLanguage), link, s.settings.LinkTTL)
			},
			func(ctx context.Context) error { return s.store.WithdrawLink(ctx, rec, s.sendLimit()) })
		if err = s.mailFailed(ctx, "link", err); err != nil {
			return err
		}
	}
	requested(ctx)
	return nil
}
