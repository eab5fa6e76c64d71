// Command sdk is the SDK cold-start floor: a hello-world aws-lambda-go
// bootstrap that, like every function (pkg/function.EnvClients), builds an AWS
// configuration from the Lambda environment (Region and the role's
// credentials) and constructs a DynamoDB, an SES v2 and a Secrets Manager
// client before it starts. Whatever a function's cold start costs beyond
// this is the service's own.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

func main() {
	cfg := aws.Config{
		Region: os.Getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))),
	}
	db := dynamodb.NewFromConfig(cfg)
	mail := sesv2.NewFromConfig(cfg)
	secrets := secretsmanager.NewFromConfig(cfg)
	lambda.Start(func(context.Context, map[string]any) (string, error) {
		// The clients are used so the linker keeps them, as a function's are.
		return fmt.Sprintf("hello %T %T %T", db, mail, secrets), nil
	})
}
