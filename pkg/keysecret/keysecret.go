// Package keysecret reads the HMAC key's secret from AWS Secrets Manager.
// It is the only package of the service that links the Secrets Manager
// client, so a function none of whose flows hashes with the key (the link
// reset's) does not: its main does not import this package.
package keysecret

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/passreset/passreset/pkg/keyring"
)

// Client is a Secrets Manager client from cfg, at endpoint when it is not
// "" (a local stand-in).
func Client(cfg aws.Config, endpoint string) *secretsmanager.Client {
	return secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
}

// New is the reader of secrets a keyring.Secret reads the keys through:
// what the functions that hash with the key pass to function.Start.
func New(cfg aws.Config, endpoint string) keyring.SecretsAPI {
	return reader{client: Client(cfg, endpoint)}
}

// reader reads a secret's string with GetSecretValue.
type reader struct{ client *secretsmanager.Client }

// SecretString implements keyring.SecretsAPI.
func (r reader) SecretString(ctx context.Context, id string) (string, error) {
	out, err := r.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.SecretString), nil
}
