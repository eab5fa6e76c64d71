package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/devserver"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/keysecret"
	"github.com/passreset/passreset/pkg/reset"
)

// support runs "support send-link", "support compromised" and "support
// state": a support engineer's actions on one account of a deployed
// stack, through the service's own flows and store (reset.Support). Each
// writes one audit line: who did what to which account id, and how it
// ended, never a secret or an address.
func (c cli) support(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError("support: want support send-link, support compromised or support state")
	}
	sub := args[0]
	if sub != "send-link" && sub != "compromised" && sub != "state" {
		return usageError(fmt.Sprintf("unknown command support %s", sub))
	}
	fs := c.flags("support " + sub)
	tf := addTargetFlags(fs)
	sesEndpoint := fs.String("ses-endpoint", "", "SES `URL` (default: AWS_ENDPOINT_URL_SESV2, else the dev stack's, else AWS)")
	auditLog := fs.String("audit-log", "", "append the audit line to `file` instead of standard error")
	var print, asJSON *bool
	switch sub {
	case "send-link":
		print = fs.Bool("print", false, "print the link instead of mailing it (read the warning)")
	case "state":
		asJSON = fs.Bool("json", false, "print the state as JSON")
	}
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(fmt.Sprintf("support %s: want one account (an email, a user name or an account id), got %q", sub, rest))
	}
	sp, err := c.supportSetup(ctx, tf, *sesEndpoint, *auditLog)
	if err != nil {
		return err
	}
	defer sp.close()
	a := audit{log: sp.audit, action: sub, operator: sp.operator}

	acct, err := sp.support.Find(ctx, strings.TrimSpace(rest[0]))
	if err != nil {
		a.record(ctx, "", outcomeOf(err))
		return explainFind(sub, rest[0], err)
	}
	switch sub {
	case "send-link":
		return c.sendLink(ctx, sp, a, acct, *print)
	case "compromised":
		return c.compromised(ctx, sp, a, acct)
	default:
		return c.state(ctx, sp, a, acct, *asJSON)
	}
}

// supported is the wired support actions and what they report through.
type supported struct {
	support  *reset.Support
	cfg      config.Config
	ses      *sesv2.Client
	sesWhere string
	operator string
	audit    *slog.Logger
	close    func()
}

// supportSetup builds the service as the deployed functions run it: the
// configuration from their variables (or the dev stack's), the store and
// directory of its USERS_BACKEND, its mailer, HMAC key and sessions.
func (c cli) supportSetup(ctx context.Context, tf targetFlags, sesEndpoint, auditLog string) (supported, error) {
	sp := supported{close: func() {}}
	t, err := c.resolve(ctx, tf)
	if err != nil {
		return sp, err
	}
	// Against a real stack, nothing may default to the dev stack's values:
	// a dev HMAC key would find none of the account's records, and a dev
	// RESET_URL would mail a link to nowhere.
	getenv := c.getenv
	if t.devStack {
		st, err := devserver.ReadState(stateDir(*tf.state))
		if err != nil {
			return sp, fmt.Errorf("no dev stack running (%v): start it with make dev, or give the deployed stack's variables and --endpoint", err)
		}
		getenv = devserver.Environment(c.getenv, st.API)
		if sesEndpoint == "" && c.getenv("AWS_ENDPOINT_URL_SESV2") == "" {
			sesEndpoint = st.SES
		}
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return sp, fmt.Errorf("the service's configuration (export the variables of the deployed functions): %w", err)
	}
	if *tf.tokens != "" {
		cfg.TokensTable = *tf.tokens
	}
	if *tf.users != "" && cfg.UsersBackend == config.BackendDynamoDB {
		cfg.Users.Name = *tf.users
	}
	sp.cfg = cfg
	if sp.ses, sp.sesWhere, err = c.sesClient(ctx, sesEndpoint); err != nil {
		return sp, err
	}
	clients := function.Clients{DynamoDB: t.db, SES: sp.ses}
	if cfg.HMACKeySecretARN != "" {
		endpoint := c.getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER")
		awsCfg, err := c.awsConfig(ctx, endpoint)
		if err != nil {
			return sp, err
		}
		clients.Secrets = keysecret.New(awsCfg, endpoint)
	}
	// The flows' own log (a mail that failed, say) goes to standard error
	// as text; the audit line is apart.
	log := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	svc, err := function.NewServiceWith(cfg, clients, log, c.now)
	if err != nil {
		return sp, err
	}
	var versions reset.SessionVersions
	if cfg.UsersBackend == config.BackendDynamoDB {
		versions = svc.Store
	}
	sp.support = reset.NewSupport(svc.Flows, svc.Store, versions)

	var w io.Writer = c.stderr
	if auditLog != "" {
		f, err := os.OpenFile(auditLog, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return sp, fmt.Errorf("audit log: %w", err)
		}
		w, sp.close = f, func() { f.Close() }
	}
	sp.audit = slog.New(slog.NewJSONHandler(w, nil))
	sp.operator = c.operator(ctx, t)
	return sp, nil
}

// operator names who runs the command: the AWS caller identity when the
// target is AWS (one STS call), else $USER.
func (c cli) operator(ctx context.Context, t target) string {
	user := c.getenv("USER")
	if user == "" {
		user = "unknown"
	}
	if t.devStack || strings.HasPrefix(t.where, "http") {
		return user
	}
	cfg, err := c.awsConfig(ctx, "")
	if err != nil {
		return user
	}
	// A name for the audit line is not worth a hang.
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || id.Arn == nil {
		return user
	}
	return *id.Arn
}

// audit writes the audit line of one action.
type audit struct {
	log              *slog.Logger
	action, operator string
}

// record writes the line: the action, the account id (never the name it
// was asked by, which may be an email), the operator and the outcome, with
// details that hold no secret.
func (a audit) record(ctx context.Context, accountID, outcome string, details ...any) {
	attrs := append([]any{"action", a.action, "account", accountID, "operator", a.operator, "outcome", outcome}, details...)
	a.log.InfoContext(ctx, "passreset support", attrs...)
}

// outcomeOf names an error for the audit line. Never the error's text: an
// SES error, say, can quote the recipient's address.
func outcomeOf(err error) string {
	switch {
	case errors.Is(err, reset.ErrUnknownAccount):
		return "unknown account"
	case errors.Is(err, reset.ErrAmbiguousAccount):
		return "ambiguous account"
	case errors.Is(err, reset.ErrInvalidEmail), errors.Is(err, reset.ErrInvalidUsername):
		return "invalid name"
	case errors.Is(err, reset.ErrInactiveAccount):
		return "refused: account not verified or disabled"
	case errors.Is(err, reset.ErrRateLimited):
		return "refused: send limit"
	}
	return "failed"
}

func explainFind(sub, name string, err error) error {
	switch {
	case errors.Is(err, reset.ErrUnknownAccount):
		return fmt.Errorf("support %s: no account has the email, user name or id %q", sub, name)
	case errors.Is(err, reset.ErrAmbiguousAccount):
		return fmt.Errorf("support %s: %q names more than one account (an id of one and the user name of another, or an email two accounts share): ask by another name", sub, name)
	case errors.Is(err, reset.ErrInvalidEmail):
		return fmt.Errorf("support %s: %q is not an email address", sub, name)
	case errors.Is(err, reset.ErrInvalidUsername):
		return fmt.Errorf("support %s: %q is neither an email nor a possible id or user name", sub, name)
	}
	return fmt.Errorf("support %s: find the account: %w", sub, err)
}

// stamp is a time for people: UTC, to the second, and how far off.
func stamp(t, now time.Time) string {
	d := t.Sub(now).Round(time.Second)
	rel := "in " + d.String()
	if d < 0 {
		rel = (-d).String() + " ago"
	}
	return t.UTC().Format(time.RFC3339) + " (" + rel + ")"
}

// refusedBySendLimit explains a send the limits refused: when the next
// may go, read from the account's state.
func (c cli) refusedBySendLimit(ctx context.Context, sp supported, acct reset.Account, what string) error {
	st, err := sp.support.State(ctx, acct)
	if err != nil || st.NextSendAt.IsZero() {
		return fmt.Errorf("%s: refused by the send limits (MAX_SENDS_PER_HOUR %d, MIN_SEND_INTERVAL %s); see passreset support state %s",
			what, sp.cfg.Reset.MaxSendsPerHour, sp.cfg.Reset.MinSendInterval, acct.ID)
	}
	return fmt.Errorf("%s: refused by the send limits (MAX_SENDS_PER_HOUR %d, MIN_SEND_INTERVAL %s): the next mail to account %s may go at %s",
		what, sp.cfg.Reset.MaxSendsPerHour, sp.cfg.Reset.MinSendInterval, acct.ID, stamp(st.NextSendAt, c.now()))
}

// sendLink runs "support send-link".
func (c cli) sendLink(ctx context.Context, sp supported, a audit, acct reset.Account, print bool) error {
	sent, err := sp.support.SendLink(ctx, acct, print)
	if err != nil {
		a.record(ctx, acct.ID, outcomeOf(err), "print", print)
		what := "support send-link: account " + acct.ID
		switch {
		case errors.Is(err, reset.ErrInactiveAccount):
			return fmt.Errorf("%s is not verified or is disabled: the service sends it nothing", what)
		case errors.Is(err, reset.ErrRateLimited):
			return c.refusedBySendLimit(ctx, sp, acct, what)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	now := c.now()
	if print {
		a.record(ctx, acct.ID, "printed", "link_expires_at", sent.ExpiresAt.UTC())
		fmt.Fprintf(c.stderr, `WARNING: the link below resets the password of account %s. Anyone who holds
it can choose the account's new password: give it only to the account's owner,
over a channel you have checked is theirs, and do not paste it into a ticket or
a chat others can read. It works once, until %s
(LINK_TTL %s), and it has already killed every earlier code and link of the
account. Nothing was mailed.
`, acct.ID, stamp(sent.ExpiresAt, now), sp.cfg.Reset.LinkTTL)
		fmt.Fprintln(c.stdout, sent.URL)
		return nil
	}
	a.record(ctx, acct.ID, "mailed", "link_expires_at", sent.ExpiresAt.UTC())
	fmt.Fprintf(c.stdout, "mailed a reset link to the stored address of account %s\n", acct.ID)
	fmt.Fprintf(c.stdout, "  works until:     %s\n", stamp(sent.ExpiresAt, now))
	fmt.Fprintf(c.stdout, "  earlier codes and links of the account no longer work\n")
	return nil
}

// compromised runs "support compromised".
func (c cli) compromised(ctx context.Context, sp supported, a audit, acct reset.Account) error {
	done, err := sp.support.Compromised(ctx, acct)
	now := c.now()
	details := []any{
		"again", done.Again, "session_version_bumped", done.VersionBumped, "sessions_ended", done.SessionsEnded,
		"codes_killed", done.Killed.Codes, "links_killed", done.Killed.Links, "grants_killed", done.Killed.Grants,
	}
	if !done.Link.ExpiresAt.IsZero() {
		details = append(details, "link_expires_at", done.Link.ExpiresAt.UTC())
	}
	outcome := "marked compromised"
	if done.Again {
		outcome = "already marked compromised"
	}
	mailed := done.Again || !done.Link.ExpiresAt.IsZero()
	switch {
	case err != nil && !mailed:
		outcome = outcomeOf(err)
	case done.SessionsErr != nil:
		outcome += "; sessions NOT ended"
	case err != nil:
		outcome = outcomeOf(err)
	}
	a.record(ctx, acct.ID, outcome, details...)

	w := c.stdout
	// A sessions failure stopped nothing else: err holds it beside any
	// other; say how to retry it.
	failed := func(err error) error {
		if done.SessionsErr == nil {
			return err
		}
		return fmt.Errorf("%w\n(sessions NOT ended; what else was done stands: run support compromised %s again to end them)", err, acct.ID)
	}
	if done.Again {
		fmt.Fprintf(w, "account %s is already marked compromised: the reset link mailed then is its live record until %s\n", acct.ID, stamp(done.LinkExpiresAt, now))
		sessions := sessionsLine(sp.cfg, done.SessionsEnded, "ended again")
		switch {
		case done.SessionsErr != nil:
			sessions = "FAILED: not ended again (see the error)"
		case !done.SessionsEnded:
			// session_version is not bumped again: that would kill the link.
			sessions = "no sessions store: not ended again (the first run bumped session_version where there is one)"
		}
		fmt.Fprintf(w, "  sessions:         %s\n", sessions)
		fmt.Fprintf(w, "  codes and links:  nothing killed, no new mail (run support send-link for a new link)\n")
		if err != nil {
			return failed(fmt.Errorf("support compromised: account %s: %w", acct.ID, err))
		}
		return nil
	}
	fmt.Fprintf(w, "account %s: password treated as compromised\n", acct.ID)
	if sp.cfg.UsersBackend == config.BackendDynamoDB {
		state := "not bumped"
		if done.VersionBumped {
			state = "bumped: sessions checked against it end; every earlier code and link is dead"
		}
		fmt.Fprintf(w, "  session_version:  %s\n", state)
	}
	sessions := sessionsLine(sp.cfg, done.SessionsEnded, "ended")
	if done.SessionsErr != nil {
		sessions = "FAILED: not ended (see the error); the kill and the mail went ahead"
	}
	fmt.Fprintf(w, "  sessions:         %s\n", sessions)
	switch k := done.Killed; {
	case k.Codes == 0 && k.Links == 0 && k.Grants == 0 && !k.Latest:
		fmt.Fprintf(w, "  codes and links:  none outstanding\n")
	default:
		fmt.Fprintf(w, "  codes and links:  killed (%d unexpired code(s), %d unexpired link(s), %d unexpired grant(s) removed)\n", k.Codes, k.Links, k.Grants)
	}
	if err != nil && !mailed {
		fmt.Fprintf(w, "  reset link:       NOT mailed (see the error)\n")
		what := "support compromised: account " + acct.ID + ": reset link"
		switch {
		case errors.Is(err, reset.ErrInactiveAccount):
			return failed(fmt.Errorf("%s: the account is not verified or is disabled: the service mails it nothing", what))
		case errors.Is(err, reset.ErrRateLimited):
			return failed(fmt.Errorf("%w\n(the kill stands; mail a link then with: passreset support send-link %s)", c.refusedBySendLimit(ctx, sp, acct, what), acct.ID))
		}
		return failed(fmt.Errorf("support compromised: account %s: %w", acct.ID, err))
	}
	fmt.Fprintf(w, "  reset link:       mailed to the stored address, works until %s\n", stamp(done.Link.ExpiresAt, now))
	fmt.Fprintf(w, "the password itself is unchanged: it works until the owner resets it\n")
	if err != nil {
		return failed(fmt.Errorf("support compromised: account %s: %w", acct.ID, err))
	}
	return nil
}

func sessionsLine(cfg config.Config, ended bool, verb string) string {
	switch {
	case ended && cfg.UsersBackend == config.BackendWebhook:
		return verb + " by the hook's end-sessions call"
	case ended:
		return verb + " in " + cfg.Sessions.Name
	case cfg.UsersBackend == config.BackendDynamoDB:
		return "no SESSIONS_TABLE: ended only for apps that check session_version"
	}
	return "not ended (no sessions store configured)"
}

// stateDoc is "support state --json": times in RFC 3339, UTC; a zero time
// is left out.
type stateDoc struct {
	Account    string         `json:"account"`
	Active     bool           `json:"active"`
	Now        time.Time      `json:"now"`
	Live       string         `json:"live"` // "code", "link", "grant" or ""
	Link       *linkDoc       `json:"link,omitempty"`
	Names      []nameDoc      `json:"names"`
	Sends      counterDoc     `json:"account_sends"`
	Failures   counterDoc     `json:"account_failures"`
	NoticeAt   *time.Time     `json:"guessing_notice_at,omitempty"`
	NextSendAt *time.Time     `json:"next_send_at,omitempty"`
	LastMail   lastMailDoc    `json:"last_mail"`
	Settings   map[string]any `json:"limits"`
}

type linkDoc struct {
	Grant       bool      `json:"grant"` // a two-step grant, never mailed
	ExpiresAt   time.Time `json:"expires_at"`
	Live        bool      `json:"live"`
	FromSupport bool      `json:"from_support"`
}

type nameDoc struct {
	By         string     `json:"by"`
	Code       *codeDoc   `json:"code,omitempty"`
	Sends      counterDoc `json:"sends"`
	LastSentAt *time.Time `json:"last_sent_at,omitempty"`
	NextSendAt *time.Time `json:"next_send_at,omitempty"`
	Failures   counterDoc `json:"failures"`
}

type codeDoc struct {
	ExpiresAt   time.Time `json:"expires_at"`
	Attempts    int       `json:"attempts"`
	MaxAttempts int       `json:"max_attempts"`
	Live        bool      `json:"live"`
}

type counterDoc struct {
	Used    int        `json:"used"`
	Max     int        `json:"max"`
	FreesAt *time.Time `json:"frees_at,omitempty"`
}

type lastMailDoc struct {
	KeptByService bool   `json:"kept_by_service"` // always false: see printState
	Suppression   string `json:"ses_suppression"`
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func counterOf(c reset.Counter) counterDoc {
	return counterDoc{Used: c.Used, Max: c.Max, FreesAt: timeOrNil(c.FreesAt)}
}

// state runs "support state".
func (c cli) state(ctx context.Context, sp supported, a audit, acct reset.Account, asJSON bool) error {
	st, err := sp.support.State(ctx, acct)
	if err != nil {
		a.record(ctx, acct.ID, outcomeOf(err))
		return fmt.Errorf("support state: account %s: %w", acct.ID, err)
	}
	now := c.now()
	doc := stateDoc{
		Account: acct.ID, Active: acct.Active, Now: now.UTC().Truncate(time.Second), Live: st.Live,
		Sends: counterOf(st.Sends), Failures: counterOf(st.Failures),
		NoticeAt: timeOrNil(st.NoticeAt), NextSendAt: timeOrNil(st.NextSendAt),
		LastMail: lastMailDoc{Suppression: c.suppression(ctx, sp, acct.Email)},
		Settings: map[string]any{
			"max_attempts": sp.cfg.Reset.MaxAttempts, "max_failures_per_day": sp.cfg.Reset.MaxFailuresPerDay,
			"max_sends_per_hour": sp.cfg.Reset.MaxSendsPerHour, "min_send_interval": sp.cfg.Reset.MinSendInterval.String(),
			"otp_ttl": sp.cfg.Reset.OTPTTL.String(), "link_ttl": sp.cfg.Reset.LinkTTL.String(),
		},
	}
	if l := st.Link; l != nil {
		doc.Link = &linkDoc{Grant: l.Grant, ExpiresAt: l.ExpiresAt.UTC(), Live: l.Live, FromSupport: l.FromSupport}
	}
	for _, n := range st.Names {
		nd := nameDoc{By: n.By, Sends: counterOf(n.Sends), Failures: counterOf(n.Failures),
			LastSentAt: timeOrNil(n.LastSentAt), NextSendAt: timeOrNil(n.NextSendAt)}
		if cd := n.Code; cd != nil {
			nd.Code = &codeDoc{ExpiresAt: cd.ExpiresAt.UTC(), Attempts: cd.Attempts, MaxAttempts: cd.MaxAttempts, Live: cd.Live}
		}
		doc.Names = append(doc.Names, nd)
	}
	a.record(ctx, acct.ID, "read")
	if asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	c.printState(doc, now)
	return nil
}

func (c cli) printState(d stateDoc, now time.Time) {
	w := c.stdout
	at := func(t *time.Time) string { return stamp(*t, now) }
	active := "active"
	if !d.Active {
		active = "NOT verified or disabled: the service sends it nothing"
	}
	fmt.Fprintf(w, "account %s (%s)\n", d.Account, active)
	switch {
	case d.Live == "link" && d.Link != nil:
		from := ""
		if d.Link.FromSupport {
			from = ", mailed by support compromised"
		}
		fmt.Fprintf(w, "  live:             a link, works until %s%s\n", stamp(d.Link.ExpiresAt, now), from)
	case d.Live == "grant" && d.Link != nil:
		fmt.Fprintf(w, "  live:             a two-step grant (never mailed), works until %s\n", stamp(d.Link.ExpiresAt, now))
	case d.Live == "code":
		fmt.Fprintf(w, "  live:             a code (below)\n")
	default:
		fmt.Fprintf(w, "  live:             no code or link works now\n")
	}
	for _, n := range d.Names {
		fmt.Fprintf(w, "  by %s:\n", n.By)
		if cd := n.Code; cd != nil {
			state := "dead (superseded, out of guesses or expired)"
			if cd.Live {
				state = "live"
			}
			fmt.Fprintf(w, "    code:           %s; %d of %d attempts used; expires %s\n", state, cd.Attempts, cd.MaxAttempts, stamp(cd.ExpiresAt, now))
		} else {
			fmt.Fprintf(w, "    code:           none\n")
		}
		fmt.Fprintf(w, "    sends:          %s\n", counterLine(n.Sends, "in the last hour", now))
		if n.LastSentAt != nil {
			fmt.Fprintf(w, "    last sent:      %s\n", at(n.LastSentAt))
		}
		next := "now"
		if n.NextSendAt != nil {
			next = at(n.NextSendAt)
		}
		fmt.Fprintf(w, "    next send:      %s\n", next)
		fmt.Fprintf(w, "    failed guesses: %s\n", counterLine(n.Failures, "in 24h", now))
	}
	fmt.Fprintf(w, "  account-wide (all names):\n")
	fmt.Fprintf(w, "    sends:          %s\n", counterLine(d.Sends, "in the last hour", now))
	fmt.Fprintf(w, "    failed guesses: %s\n", counterLine(d.Failures, "in 24h", now))
	notice := "never (or over 25h ago)"
	if d.NoticeAt != nil {
		notice = at(d.NoticeAt)
	}
	fmt.Fprintf(w, "    guessing notice: %s\n", notice)
	next := "now"
	if d.NextSendAt != nil {
		next = at(d.NextSendAt)
	}
	fmt.Fprintf(w, "  next mail to the email: %s\n", next)
	fmt.Fprintf(w, "  last mail result: not kept by the service (a failed mail is withdrawn, its send given back, and logged as \"mail failed\" by the function)\n")
	fmt.Fprintf(w, "  SES suppression:  %s\n", d.LastMail.Suppression)
}

func counterLine(cn counterDoc, span string, now time.Time) string {
	s := fmt.Sprintf("%d of %d %s", cn.Used, cn.Max, span)
	if cn.FreesAt != nil {
		s += "; a place frees at " + stamp(*cn.FreesAt, now)
	}
	return s
}

// suppression is whether SES's account-level suppression list holds the
// account's address, as "mail suppressed" asks, in words without the
// address.
func (c cli) suppression(ctx context.Context, sp supported, addr string) string {
	got, err := sp.ses.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String(addr)})
	var notFound *types.NotFoundException
	var notSES *smithy.DeserializationError
	switch {
	case errors.As(err, &notFound):
		return "not on the list (SES at " + sp.sesWhere + ")"
	case errors.As(err, &notSES):
		return "unknown: SES at " + sp.sesWhere + " has no suppression list (the dev stack's emulator)"
	case err != nil:
		return "unknown: SES could not be asked (" + sp.sesWhere + ")"
	case got.SuppressedDestination == nil:
		return "unknown: SES gave no answer"
	}
	d := got.SuppressedDestination
	s := fmt.Sprintf("ON THE LIST (%s", d.Reason)
	if d.LastUpdateTime != nil {
		s += " since " + d.LastUpdateTime.UTC().Format(time.RFC3339)
	}
	return s + "): SES drops mail to the account; see passreset mail suppressed"
}
