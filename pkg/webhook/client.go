package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The paths of the three calls under Config.BaseURL.
const (
	PathLookup      = "/accounts/lookup"
	PathSetPassword = "/accounts/set-password"
	PathEndSessions = "/accounts/end-sessions"
)

// The words of the protocol: a lookup's "by", a 409's "error".
const (
	LookupByEmail    = "email"
	LookupByUsername = "username"
	LookupByID       = "id"

	ConflictAmbiguous    = "ambiguous"
	ConflictVersionMoved = "version_moved"
)

// The Config defaults, and the most of an answer that is read: the
// protocol's answers are a few hundred bytes.
const (
	defaultAttempt = 2 * time.Second
	defaultRetries = 2
	defaultMargin  = 500 * time.Millisecond
	defaultBackoff = 100 * time.Millisecond
	maxAnswerBytes = 64 << 10
)

// The answers of the hook that are outcomes rather than failures.
var (
	// ErrAmbiguous: more than one account matches the email or user name.
	// The flows treat such a name like an unknown one.
	ErrAmbiguous = errors.New("webhook: more than one account matches")
	// ErrVersionMoved: the account is no longer at the expected version,
	// because its password or the account changed by another route (or it
	// is gone). Nothing was changed; the flows answer it as an invalid or
	// expired code, with nothing used up.
	ErrVersionMoved = errors.New("webhook: account version moved")
)

// HookError is a call the hook did not answer: a status other than 2xx and
// the 409 outcomes, a malformed answer, or no answer at all (Status 0, Err
// says why). It never carries what was sent or what the hook answered.
type HookError struct {
	Call     string // "lookup", "set-password" or "end-sessions"
	Status   int    // the last attempt's HTTP status; 0 when there was none
	Attempts int    // how many attempts were made
	Err      error  // the transport's or decoder's error, if any
}

func (e *HookError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "webhook %s", e.Call)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": status %d", e.Status)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	fmt.Fprintf(&b, " (%d attempt", e.Attempts)
	if e.Attempts != 1 {
		b.WriteByte('s')
	}
	b.WriteByte(')')
	return b.String()
}

func (e *HookError) Unwrap() error { return e.Err }

// Config is how to reach a team's hook.
type Config struct {
	// BaseURL is the hook's base, "https://accounts.example.com/passreset";
	// the calls' paths are appended to it.
	BaseURL string
	// Secrets sign every request, each adding one signature: one secret
	// normally, the new and the old while rotating.
	Secrets []Secret
	// HTTPClient sends the requests; nil is a client of its own. Its
	// redirects are refused whatever it says: the specification counts a
	// 3xx as a failure, and a redirect would carry the signed body elsewhere.
	HTTPClient *http.Client
	// AttemptTimeout bounds each attempt; 0 means 2 s.
	AttemptTimeout time.Duration
	// Retries is how many times a failed attempt is retried; 0 means 2,
	// negative means none.
	Retries int
	// DeadlineMargin is kept free before the context's deadline for the
	// caller to answer; 0 means 500 ms.
	DeadlineMargin time.Duration
	// Backoff is the pause before the first retry, doubled before each
	// next one; 0 means 100 ms.
	Backoff time.Duration
	// Now and Rand default to time.Now and crypto/rand.Reader.
	Now  func() time.Time
	Rand io.Reader
}

// Client calls a team's account hook. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	secrets []Secret
	http    *http.Client
	attempt time.Duration
	retries int
	margin  time.Duration
	backoff time.Duration
	now     func() time.Time
	rand    io.Reader
}

// New checks cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, errors.New("webhook: the base URL must be an absolute http or https URL")
	}
	if len(cfg.Secrets) == 0 {
		return nil, errors.New("webhook: no secret to sign with")
	}
	c := &Client{
		base:    base,
		secrets: cfg.Secrets,
		attempt: or(cfg.AttemptTimeout, defaultAttempt),
		retries: cfg.Retries,
		margin:  or(cfg.DeadlineMargin, defaultMargin),
		backoff: or(cfg.Backoff, defaultBackoff),
		now:     cfg.Now,
		rand:    cfg.Rand,
	}
	switch {
	case c.retries == 0:
		c.retries = defaultRetries
	case c.retries < 0:
		c.retries = 0
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.rand == nil {
		c.rand = rand.Reader
	}
	hc := http.Client{}
	if cfg.HTTPClient != nil {
		hc = *cfg.HTTPClient
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	return c, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// AccountByEmail finds the account whose email is email, compared
// lower-cased. An unknown address is the zero Account and no error. It
// returns ErrAmbiguous, a *HookError, or the context's error.
func (c *Client) AccountByEmail(ctx context.Context, email string) (Account, error) {
	return c.lookup(ctx, LookupByEmail, strings.ToLower(email))
}

// AccountByUsername finds the account with the user name, exactly. An
// unknown name is the zero Account and no error. Errors as AccountByEmail.
func (c *Client) AccountByUsername(ctx context.Context, username string) (Account, error) {
	return c.lookup(ctx, LookupByUsername, username)
}

// AccountByID finds the account with the id, with its password hash. An
// unknown id is the zero Account and no error. Errors as AccountByEmail.
func (c *Client) AccountByID(ctx context.Context, id string) (Account, error) {
	return c.lookup(ctx, LookupByID, id)
}

func (c *Client) lookup(ctx context.Context, by, value string) (Account, error) {
	var answer LookupAnswer
	if err := c.call(ctx, "lookup", PathLookup, LookupRequest{By: by, Value: value}, &answer, ConflictAmbiguous); err != nil {
		return Account{}, err
	}
	if answer.Account == nil {
		return Account{}, nil
	}
	acct := *answer.Account
	if acct.ID == "" {
		return Account{}, &HookError{Call: "lookup", Status: http.StatusOK, Attempts: 1, Err: errors.New("answered an account without an id")}
	}
	if by != LookupByID {
		// The protocol says the hook sends no hash here; a hook that does
		// anyway must not put one where nothing needs it.
		acct.PasswordHash = ""
	}
	return acct, nil
}

// SetPassword sets the account's password hash if the account is still at
// expectedVersion, and returns its new version. A retry of a change the hook
// already applied is answered as applied (see the package doc). It returns
// ErrVersionMoved, a *HookError, or the context's error.
func (c *Client) SetPassword(ctx context.Context, id, passwordHash string, expectedVersion int64) (int64, error) {
	var answer SetPasswordAnswer
	req := SetPasswordRequest{ID: id, PasswordHash: passwordHash, ExpectedVersion: expectedVersion}
	if err := c.call(ctx, "set-password", PathSetPassword, req, &answer, ConflictVersionMoved); err != nil {
		return 0, err
	}
	if answer.Version == nil {
		return 0, &HookError{Call: "set-password", Status: http.StatusOK, Attempts: 1, Err: errors.New("answered no version")}
	}
	return *answer.Version, nil
}

// EndSessions ends every session of the account. Ending none is no error.
// It returns a *HookError or the context's error.
func (c *Client) EndSessions(ctx context.Context, id string) error {
	return c.call(ctx, "end-sessions", PathEndSessions, EndSessionsRequest{ID: id}, &struct{}{}, "")
}

// call sends one call, retrying as the package doc says, and decodes a 2xx
// answer into answer. conflict is the 409 outcome this call may answer
// ("" for none), returned as its sentinel.
func (c *Client) call(ctx context.Context, name, path string, request, answer any, conflict string) error {
	body, err := json.Marshal(request)
	if err != nil {
		return fmt.Errorf("webhook %s: encode request: %w", name, err)
	}
	id, err := c.messageID()
	if err != nil {
		return fmt.Errorf("webhook %s: %w", name, err)
	}
	target := c.base.JoinPath(path).String()

	pause := c.backoff
	for attempt := 1; ; attempt++ {
		status, answerBody, err := c.attemptOnce(ctx, target, id, body)
		retry := false
		switch {
		case ctx.Err() != nil:
			// The caller's context ended: its error, not the hook's.
			return fmt.Errorf("webhook %s: %w", name, ctx.Err())
		case err != nil:
			retry = true // no answer: a network error or the attempt's timeout
		case status >= 200 && status < 300:
			if err := json.Unmarshal(answerBody, answer); err != nil {
				return &HookError{Call: name, Status: status, Attempts: attempt, Err: errors.New("malformed answer")}
			}
			return nil
		case status == http.StatusConflict:
			var ca ErrorAnswer
			if json.Unmarshal(answerBody, &ca) == nil && conflict != "" && ca.Error == conflict {
				return conflictError(conflict)
			}
			return &HookError{Call: name, Status: status, Attempts: attempt}
		case status == http.StatusTooManyRequests || status >= 500:
			retry = true
		default:
			return &HookError{Call: name, Status: status, Attempts: attempt}
		}
		hookErr := &HookError{Call: name, Status: status, Attempts: attempt, Err: err}
		if !retry || attempt > c.retries {
			return hookErr
		}
		// Another attempt only if it can start after the pause and still
		// have a useful share of its timeout before the deadline.
		if deadline, ok := c.deadline(ctx); ok && c.now().Add(pause+c.attempt/4).After(deadline) {
			return hookErr
		}
		if err := sleep(ctx, pause); err != nil {
			return fmt.Errorf("webhook %s: %w", name, err)
		}
		pause *= 2
	}
}

func conflictError(outcome string) error {
	if outcome == ConflictAmbiguous {
		return ErrAmbiguous
	}
	return ErrVersionMoved
}

// deadline is the time by which every attempt must be over: the context's
// deadline less the margin.
func (c *Client) deadline(ctx context.Context) (time.Time, bool) {
	d, ok := ctx.Deadline()
	return d.Add(-c.margin), ok
}

// errNoTime is an attempt not made because the deadline less the margin
// has passed. It is a context.DeadlineExceeded, which is what it means.
var errNoTime = fmt.Errorf("no time left before the deadline less the margin: %w", context.DeadlineExceeded)

// attemptOnce sends one signed attempt and reads its answer. err is set
// when there was no answer.
func (c *Client) attemptOnce(ctx context.Context, target, id string, body []byte) (int, []byte, error) {
	timeout := c.attempt
	if deadline, ok := c.deadline(ctx); ok {
		left := deadline.Sub(c.now())
		if left <= 0 {
			return 0, nil, errNoTime
		}
		timeout = min(timeout, left)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	now := c.now()
	sigs := make([]string, len(c.secrets))
	for i, s := range c.secrets {
		sigs[i] = Sign(s, id, now, body)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderSignature, strings.Join(sigs, " "))

	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, transportError(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return 0, nil, transportError(err)
	}
	return resp.StatusCode, answer, nil
}

// transportError keeps what went wrong and drops the URL a *url.Error
// repeats: the base URL may hold a token a team put in its path.
func transportError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		if ue.Timeout() {
			return errors.New("attempt timed out")
		}
		return ue.Err
	}
	return err
}

// messageID is a fresh webhook-id: "msg_" and 128 random bits in base32,
// which has no full stop (see Verify).
func (c *Client) messageID() (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(c.rand, b[:]); err != nil {
		return "", fmt.Errorf("make a message id: %w", err)
	}
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])), nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
