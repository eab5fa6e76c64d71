// Command sleep ignores its deadline and never answers.
package main

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		time.Sleep(time.Hour)
		return event, nil
	})
}
