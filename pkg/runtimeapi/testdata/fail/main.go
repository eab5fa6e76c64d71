// Command fail returns an error for every event.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// LockedError is a typed error, so its type name reaches errorType.
type LockedError struct{ Account string }

func (e *LockedError) Error() string { return "account " + e.Account + " is locked" }

func main() {
	lambda.Start(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		return nil, &LockedError{Account: "demo"}
	})
}
