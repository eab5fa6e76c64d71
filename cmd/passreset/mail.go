package main

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/passreset/passreset/pkg/function"
)

// mail runs "mail suppressed" and "mail unsuppress" on the account-level
// SES suppression list, so support can tell why "I never got the mail" and
// undo it. The code of suppressed is exitOK when the address is not on the
// list and exitMismatch when it is, so a script can test it.
func (c cli) mail(ctx context.Context, args []string) (int, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return exitError, usageError("mail: want mail suppressed or mail unsuppress")
	}
	sub := args[0]
	if sub != "suppressed" && sub != "unsuppress" {
		return exitError, usageError(fmt.Sprintf("unknown command mail %s", sub))
	}
	fs := c.flags("mail " + sub)
	email := fs.String("email", "", "the recipient's `address`")
	endpoint := fs.String("endpoint", "", "SES `URL` (default: AWS_ENDPOINT_URL_SESV2, else AWS)")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return exitError, err
	}
	if len(rest) > 0 {
		return exitError, usageError(fmt.Sprintf("mail %s takes no arguments, got %q", sub, rest))
	}
	// Checked before any client is built: a typo must not reach SES, whose
	// answer to it ("not on the list") would read as a diagnosis.
	addr, err := emailAddress(*email)
	if err != nil {
		return exitError, usageError(fmt.Sprintf("mail %s: %v", sub, err))
	}
	ses, where, err := c.sesClient(ctx, *endpoint)
	if err != nil {
		return exitError, err
	}
	if sub == "suppressed" {
		return c.suppressed(ctx, ses, where, addr)
	}
	return exitOK, c.unsuppress(ctx, ses, where, addr)
}

// emailAddress is s without surrounding space when it is a bare address
// (local@domain, no display name or angle brackets).
func emailAddress(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("--email is required")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("--email %q is not an email address (want local@domain)", s)
	}
	return s, nil
}

// sesClient is an SES client: at endpoint, else AWS_ENDPOINT_URL_SESV2,
// else AWS through the SDK's usual configuration chain. where names it for
// messages.
func (c cli) sesClient(ctx context.Context, endpoint string) (client *sesv2.Client, where string, err error) {
	if endpoint == "" {
		endpoint = c.getenv("AWS_ENDPOINT_URL_SESV2")
	}
	cfg, err := c.awsConfig(ctx, endpoint)
	if err != nil {
		return nil, "", err
	}
	where = endpoint
	if endpoint == "" {
		where = "AWS (" + cfg.Region + ")"
	}
	return function.ClientsAt(cfg, function.Endpoints{SES: endpoint}).SES, where, nil
}

// suppressed prints whether the account-level suppression list holds addr
// and, when it does, what SES kept about why: the reason, when, and the
// ids of the message and the feedback. Nothing else about the recipient is
// printed.
func (c cli) suppressed(ctx context.Context, ses *sesv2.Client, where, addr string) (int, error) {
	// No TenantName: the account's list, which the service's configuration
	// set uses.
	got, err := ses.GetSuppressedDestination(ctx, &sesv2.GetSuppressedDestinationInput{EmailAddress: aws.String(addr)})
	var notFound *types.NotFoundException
	if errors.As(err, &notFound) {
		fmt.Fprintf(c.stdout, "%s is not on the account's SES suppression list at %s\n", addr, where)
		return exitOK, nil
	}
	if err != nil {
		return exitError, explainSES(fmt.Errorf("mail suppressed: ask SES at %s about %s: %w", where, addr, err))
	}
	d := got.SuppressedDestination
	if d == nil {
		return exitError, fmt.Errorf("mail suppressed: SES at %s answered with no SuppressedDestination for %s", where, addr)
	}
	fmt.Fprintf(c.stdout, "%s is on the account's SES suppression list at %s: SES drops mail to it\n", addr, where)
	fmt.Fprintf(c.stdout, "  reason:      %s\n", d.Reason)
	if d.LastUpdateTime != nil {
		fmt.Fprintf(c.stdout, "  since:       %s\n", d.LastUpdateTime.UTC().Format(time.RFC3339))
	}
	if a := d.Attributes; a != nil {
		if a.MessageId != nil {
			fmt.Fprintf(c.stdout, "  message id:  %s\n", *a.MessageId)
		}
		if a.FeedbackId != nil {
			fmt.Fprintf(c.stdout, "  feedback id: %s\n", *a.FeedbackId)
		}
	}
	if d.Reason == types.SuppressionListReasonComplaint {
		fmt.Fprintln(c.stdout, "the recipient marked a mail as spam: remove the address only if they ask for mail again")
	}
	fmt.Fprintf(c.stdout, "to remove it: passreset mail unsuppress --email %s\n", addr)
	return exitMismatch, nil
}

// unsuppress takes addr off the account-level suppression list. An address
// not on it is not an error: the outcome the caller wants holds.
func (c cli) unsuppress(ctx context.Context, ses *sesv2.Client, where, addr string) error {
	_, err := ses.DeleteSuppressedDestination(ctx, &sesv2.DeleteSuppressedDestinationInput{EmailAddress: aws.String(addr)})
	var notFound *types.NotFoundException
	if errors.As(err, &notFound) {
		fmt.Fprintf(c.stdout, "%s was not on the account's SES suppression list at %s: nothing to remove\n", addr, where)
		return nil
	}
	if err != nil {
		return explainSES(fmt.Errorf("mail unsuppress: ask SES at %s to remove %s: %w", where, addr, err))
	}
	fmt.Fprintf(c.stdout, "removed %s from the account's SES suppression list at %s: SES sends to it again\n", addr, where)
	return nil
}

// explainSES adds a hint to an error whose answer was not SES v2's. The
// dev stack's emulator, aws-ses-v2-local, has no suppression list: it
// answers these paths with a 404 that is not JSON, which must read as
// "wrong endpoint", never as "not on the list".
func explainSES(err error) error {
	var notSES *smithy.DeserializationError
	if errors.As(err, &notSES) {
		return fmt.Errorf("%w\n(the answer is not SES v2's; the SES emulator of passreset dev has no suppression list)", err)
	}
	return err
}
