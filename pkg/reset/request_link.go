package reset

import (
	"context"
	"fmt"
)

// LinkRequest asks for a reset link by mail.
type LinkRequest struct {
	Email string // as parsed by ParseEmail
	IP    string
}

// RequestLink mails a reset link to the account's stored address. The new
// link supersedes any earlier one: consuming a link is conditioned on it
// being the account's latest.
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
		SessionVersion: to.acct.SessionVersion,
		ExpiresAt:      now.Add(s.settings.LinkTTL),
	}
	// Stores the link and counts the send in one transaction, as for codes.
	if err := s.store.IssueLink(ctx, rec, s.sendLimit(), now); err != nil {
		return fmt.Errorf("issue link: %w", err)
	}
	if !to.mail {
		s.waitLikeMail(ctx)
		return nil
	}
	link := linkURL(s.settings.ResetURL, token)
	err = s.sendOrWithdraw(ctx,
		func(ctx context.Context) error {
			return s.mailer.SendLink(ctx, to.acct.Email, link, s.settings.LinkTTL)
		},
		func(ctx context.Context) error { return s.store.WithdrawLink(ctx, rec) })
	if err != nil {
		return fmt.Errorf("send link mail: %w", err)
	}
	return nil
}
