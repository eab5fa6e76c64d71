package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/passreset/passreset/pkg/keyring"
	"github.com/passreset/passreset/pkg/keysecret"
)

// secretsAPI is what keys rotate calls of Secrets Manager.
type secretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

var _ secretsAPI = (*secretsmanager.Client)(nil)

// keys runs "keys rotate".
func (c cli) keys(ctx context.Context, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError("keys: want keys rotate")
	}
	if sub := args[0]; sub != "rotate" {
		return usageError(fmt.Sprintf("unknown command keys %s", sub))
	}
	fs := c.flags("keys rotate")
	id := fs.String("secret-id", "", "the HMAC key secret's `ARN or name` (the stack's HmacKeySecretArn output)")
	endpoint := fs.String("endpoint", "", "Secrets Manager `URL` (default: AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS)")
	drop := fs.Bool("drop-previous", false, "keep only the key being retired under previous (see SECURITY.md first)")
	rest, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError(fmt.Sprintf("keys rotate takes no arguments, got %q", rest))
	}
	if *id == "" {
		return usageError("keys rotate: --secret-id is required")
	}
	api, where, err := c.secretsClient(ctx, *endpoint, *id)
	if err != nil {
		return err
	}
	return c.rotateKeys(ctx, api, where, *id, rand.Reader, *drop)
}

// secretsClient is a Secrets Manager client for the secret id: at
// endpoint, else AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS through the
// SDK's usual configuration chain. where names it for messages.
func (c cli) secretsClient(ctx context.Context, endpoint, id string) (client *secretsmanager.Client, where string, err error) {
	if endpoint == "" {
		endpoint = c.getenv("AWS_ENDPOINT_URL_SECRETS_MANAGER")
	}
	cfg, err := c.awsConfig(ctx, endpoint)
	if err != nil {
		return nil, "", err
	}
	if endpoint != "" {
		return keysecret.Client(cfg, endpoint), endpoint, nil
	}
	// A secret is read in its own region, which its ARN names.
	if a, err := arn.Parse(id); err == nil && a.Region != "" {
		cfg.Region = a.Region
	}
	return keysecret.Client(cfg, ""), "AWS (" + cfg.Region + ")", nil
}

// rotateKeys reads the secret id, puts a new current key drawn from random
// in it with keyring.Rotate, and writes it back as the new AWSCURRENT
// version. It prints key ids, never a key.
func (c cli) rotateKeys(ctx context.Context, api secretsAPI, where, id string, random io.Reader, drop bool) error {
	got, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return fmt.Errorf("keys rotate: read %s at %s: %w", id, where, err)
	}
	if got.SecretString == nil {
		return fmt.Errorf("keys rotate: %s holds binary data, not the JSON of an HMAC key secret", id)
	}
	next, rot, err := keyring.Rotate([]byte(*got.SecretString), random, drop)
	if err != nil {
		// keyring's messages name fields and key ids, never a key.
		return fmt.Errorf("keys rotate: %s: %w", id, err)
	}
	// A new version without VersionStages becomes AWSCURRENT, and the
	// version it replaces AWSPREVIOUS. The SDK adds a ClientRequestToken,
	// so a retried call writes one version, not two.
	put, err := api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(id),
		SecretString: aws.String(string(next)),
	})
	if err != nil {
		return fmt.Errorf("keys rotate: write %s at %s: %w", id, where, err)
	}

	fmt.Fprintf(c.stdout, "rotated the HMAC key of %s at %s: %s is the current key now (secret version %s)\n",
		id, where, rot.Current, aws.ToString(put.VersionId))
	fmt.Fprintf(c.stdout, "previous keys, still verifying codes issued under them: %s\n", strings.Join(rot.Previous, ", "))
	if len(rot.Dropped) > 0 {
		fmt.Fprintf(c.stdout, "dropped from previous: %s\n", strings.Join(rot.Dropped, ", "))
	}
	if rot.SubjectKeyAdded {
		fmt.Fprintf(c.stdout, "subject key unchanged: %s's key, which subjects were derived with, is now subject_key\n", rot.Retired)
	} else {
		fmt.Fprintln(c.stdout, "subject key unchanged")
	}
	fmt.Fprintf(c.stdout, "every instance hashes new codes with %s within %v; see SECURITY.md, \"Rotating the HMAC key\"\n",
		rot.Current, keyring.DefaultRefreshAfter)
	return nil
}
