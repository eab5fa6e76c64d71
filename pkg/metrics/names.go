// Package metrics counts what the service does, in CloudWatch Embedded
// Metric Format (EMF): JSON lines on standard output that CloudWatch Logs
// turns into metrics, with no AWS call on the request path.
package metrics

// Namespace is the CloudWatch namespace of every metric the service writes.
const Namespace = "passreset"

// The metrics. Each is a count. None is ever dimensioned by an email, an
// IP, a code, a token or an account id, and none counts unknown accounts
// as such: an unknown account's request is counted exactly as a known
// one's wherever its answer is the same.
const (
	// ResetRequested: a send route accepted a request (a code or a link
	// asked for), whether or not the account exists.
	ResetRequested = "ResetRequested"
	// MailSent: SES accepted a mail (code, link, password changed, notice).
	MailSent = "MailSent"
	// MailFailed: SES refused a mail or could not be reached.
	MailFailed = "MailFailed"
	// SecretWithdrawn: a code or link was withdrawn because its mail failed.
	SecretWithdrawn = "SecretWithdrawn"
	// WrongGuess: a wrong code was counted.
	WrongGuess = "WrongGuess"
	// CodeExhausted: a code reached its attempt limit and died.
	CodeExhausted = "CodeExhausted"
	// AccountBudgetExhausted: an account's daily failure budget was spent.
	AccountBudgetExhausted = "AccountBudgetExhausted"
	// RateLimited: a request was refused by a limit; dimension Scope.
	RateLimited = "RateLimited"
	// ResetCompleted: a password was changed; dimension Channel.
	ResetCompleted = "ResetCompleted"
	// PasswordRejected: a new password was refused by the policy;
	// dimension Reason.
	PasswordRejected = "PasswordRejected"
	// BreachCheckFailed: the breached-password check could not answer (it
	// fails open).
	BreachCheckFailed = "BreachCheckFailed"
	// SessionRevocationFailed: ending the account's sessions after a reset
	// failed (the reset itself stands and is answered as done).
	SessionRevocationFailed = "SessionRevocationFailed"
)

// Names lists every metric above, for the tests that pin the template's
// alarms and dashboard to metrics the code writes.
var Names = []string{
	ResetRequested, MailSent, MailFailed, SecretWithdrawn, WrongGuess,
	CodeExhausted, AccountBudgetExhausted, RateLimited, ResetCompleted,
	PasswordRejected, BreachCheckFailed, SessionRevocationFailed,
}

// Dimensions. Flow is on every metric; a metric that says which kind of
// limit, channel or reason carries one more.
const (
	// Flow: RequestCode, ResetWithCode, VerifyCode, ResetWithGrant,
	// RequestLink, ResetWithLink, CheckLink.
	Flow = "Flow"
	// Scope of RateLimited: IP (the per-IP request limit), Account (a
	// name's sends per hour or failures per day), Interval (the least time
	// between two sends), Code (a guess at a code whose attempts are spent).
	Scope = "Scope"
	// Channel of ResetCompleted: Code, Link, Grant (the second of the two
	// steps). A repeated completion (a client's retry) is not counted.
	Channel = "Channel"
	// Reason of PasswordRejected: the policy's reason code.
	Reason = "Reason"
)
