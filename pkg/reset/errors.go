package reset

import (
	"errors"
	"time"
)

// The outcomes of the flows. The HTTP edge turns each into a status and a
// message per route family; anything else is a failure of a dependency.
var (
	// ErrInvalidEmail: the email is malformed (two addresses, CR/LF, no @).
	ErrInvalidEmail = errors.New("invalid email")
	// ErrInvalidUsername: the user name is malformed.
	ErrInvalidUsername = errors.New("invalid user name")
	// ErrUnknownAccount: no account has that email or user name. Returned
	// only when Settings.RevealUnknownAccounts is set.
	ErrUnknownAccount = errors.New("unknown account")
	// ErrInactiveAccount: the account is not verified or is disabled.
	// Returned only when Settings.RevealUnknownAccounts is set.
	ErrInactiveAccount = errors.New("account not verified or disabled")
	// ErrNoCode: the account has no live code (none issued, used, or
	// withdrawn).
	ErrNoCode = errors.New("no code")
	// ErrExpired: the code or link is past its lifetime, even if TTL has
	// not deleted it yet.
	ErrExpired = errors.New("expired")
	// ErrInvalidCode: the guess is wrong, or the code was superseded or
	// used while this guess was being checked.
	ErrInvalidCode = errors.New("invalid code")
	// ErrDeviceMismatch: the code is bound to another device. It counts as
	// a wrong guess.
	ErrDeviceMismatch = errors.New("device mismatch")
	// ErrAmbiguousAccount: more than one account has the email or user
	// name asked for. The store returns it; the flows answer such a name
	// like an unknown one and never return it.
	ErrAmbiguousAccount = errors.New("more than one account has it")
	// ErrInvalidToken: the link token is unknown, used or superseded.
	ErrInvalidToken = errors.New("invalid token")
	// ErrRateLimited: a send or per-IP limit is spent. Returned inside a
	// *LimitError that says when it frees.
	ErrRateLimited = errors.New("rate limited")
	// ErrTooManyAttempts: the code is dead after MaxAttempts guesses, or the
	// account's daily failure budget is spent. Returned inside a *LimitError.
	ErrTooManyAttempts = errors.New("too many attempts")
)

// LimitError is a spent limit and the time until it frees, for Retry-After.
type LimitError struct {
	Err        error // ErrRateLimited or ErrTooManyAttempts
	RetryAfter time.Duration
	// Scope says which limit refused, for the operators' metrics only:
	// the answer is the same whichever it was. The store that decided sets
	// it; "" when it did not say.
	Scope LimitScope
}

// LimitScope names a limit, as the RateLimited metric's Scope dimension
// does: a short identifier, never anything of the request.
type LimitScope string

// The limits a request can be refused by.
const (
	// ScopeIP: the requests from one IP address in IPWindow.
	ScopeIP LimitScope = "IP"
	// ScopeAccount: the mails to one name in an hour, or the failed
	// guesses at one name in a day.
	ScopeAccount LimitScope = "Account"
	// ScopeInterval: the least time between two mails to one name.
	ScopeInterval LimitScope = "Interval"
	// ScopeCode: the guesses at one code, spent.
	ScopeCode LimitScope = "Code"
)

func (e *LimitError) Error() string { return e.Err.Error() }
func (e *LimitError) Unwrap() error { return e.Err }

// RetryAfter returns how long until the limit inside err frees, at least one
// second, or zero when err holds no LimitError.
func RetryAfter(err error) time.Duration {
	var le *LimitError
	if !errors.As(err, &le) {
		return 0
	}
	if le.RetryAfter < time.Second {
		return time.Second
	}
	return le.RetryAfter
}
