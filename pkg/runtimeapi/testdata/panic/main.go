// Command panic panics on every event; aws-lambda-go reports the panic,
// then exits.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		panic("boom")
	})
}
