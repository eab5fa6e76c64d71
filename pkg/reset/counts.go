package reset

import (
	"context"
	"errors"
	"time"

	"github.com/passreset/passreset/pkg/metrics"
	"github.com/passreset/passreset/pkg/password"
)

// What the flows count for the operators (pkg/metrics): each rule here, once,
// called at the line of the flow where its fact is known. Counting goes to
// the metrics.Recorder the caller put in the context, or nowhere; it never
// changes an answer and cannot fail a request.
//
// An unknown or inactive account is counted exactly like a known one
// wherever its answer is the same: its request, its wrong guesses, its
// spent limits. The one difference is the mail it never gets, which SES's
// own Send metric shows anyway (see countingMailer).

// requested counts a send request answered "sent": a code or link asked
// for, whether the account exists, is active, or got a mail, since the
// answer is the same.
func requested(ctx context.Context) {
	metrics.FromContext(ctx).Add(metrics.ResetRequested)
}

// refused counts a request refused by a limit, by the limit's scope, when
// err is a *LimitError; it counts nothing for any other error.
func refused(ctx context.Context, err error) {
	var le *LimitError
	if errors.As(err, &le) {
		metrics.FromContext(ctx).AddWith(metrics.RateLimited, metrics.Scope, string(le.Scope))
	}
}

// passwordRefused counts a new password refused by the policy, by the rule
// that refused it, when err is a *password.Rejection, and returns err as it
// is.
func passwordRefused(ctx context.Context, err error) error {
	var r *password.Rejection
	if errors.As(err, &r) {
		metrics.FromContext(ctx).AddWith(metrics.PasswordRejected, metrics.Reason, r.Rule)
	}
	return err
}

// wrongGuess counts a guess that was counted before the compare and did
// not prove right, and what it used up: the code's last attempt, and
// (lastFailure) the last place in the account's daily failure budget. A
// decoy's code is counted the same, since its answers are the same.
func (s *Service) wrongGuess(ctx context.Context, rec CodeRecord, lastFailure bool) {
	m := metrics.FromContext(ctx)
	m.Add(metrics.WrongGuess)
	if rec.Attempts >= s.settings.MaxAttempts {
		m.Add(metrics.CodeExhausted)
	}
	if lastFailure {
		m.Add(metrics.AccountBudgetExhausted)
	}
}

// completed counts a password changed through channel: Code, Link, or
// Grant (the second of the two steps). A repeat of a completion
// (retry.go) is not counted again.
func completed(ctx context.Context, channel string) {
	metrics.FromContext(ctx).AddWith(metrics.ResetCompleted, metrics.Channel, channel)
}

// withdrawn counts a code or link withdrawn because its mail failed
// (sendOrWithdraw).
func withdrawn(ctx context.Context) {
	metrics.FromContext(ctx).Add(metrics.SecretWithdrawn)
}

// breachCheckFailed counts a breached-password check that could not
// answer; the password was allowed (checkNewPassword).
func breachCheckFailed(ctx context.Context) {
	metrics.FromContext(ctx).Add(metrics.BreachCheckFailed)
}

// sessionsNotEnded counts a committed reset whose sessions could not be
// ended (endSessions).
func sessionsNotEnded(ctx context.Context) {
	metrics.FromContext(ctx).Add(metrics.SessionRevocationFailed)
}

// The channels of ResetCompleted.
const (
	channelCode  = "Code"
	channelLink  = "Link"
	channelGrant = "Grant"
)

// countingMailer counts every mail attempt, of every kind, as MailSent or
// MailFailed: the Service wraps its Mailer in one (New), so no send can
// go uncounted.
//
// Only a known, active account is ever mailed, so MailSent is the one
// count where an unknown account differs from a known one. It tells no
// more than SES's own Send metric, which counts the same mails, and, like
// it, nothing of which account: the line carries no address, no account,
// no request id.
type countingMailer struct {
	Mailer
}

func (m countingMailer) SendCode(ctx context.Context, to Recipient, code Code, ttl time.Duration) error {
	return mailed(ctx, m.Mailer.SendCode(ctx, to, code, ttl))
}

func (m countingMailer) SendLink(ctx context.Context, to Recipient, link string, ttl time.Duration) error {
	return mailed(ctx, m.Mailer.SendLink(ctx, to, link, ttl))
}

func (m countingMailer) SendPasswordChanged(ctx context.Context, to Recipient, at time.Time) error {
	return mailed(ctx, m.Mailer.SendPasswordChanged(ctx, to, at))
}

func (m countingMailer) SendGuessingNotice(ctx context.Context, to Recipient) error {
	return mailed(ctx, m.Mailer.SendGuessingNotice(ctx, to))
}

// mailed counts one mail attempt by its outcome err, and returns err.
func mailed(ctx context.Context, err error) error {
	if err != nil {
		metrics.FromContext(ctx).Add(metrics.MailFailed)
	} else {
		metrics.FromContext(ctx).Add(metrics.MailSent)
	}
	return err
}
