// Command initcrash fails at cold start, as a function with a missing
// setting does, before it asks for an event.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	table := os.Getenv("TABLE_NAME")
	if table == "" {
		fmt.Fprintln(os.Stderr, "config: TABLE_NAME is not set")
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, event json.RawMessage) (string, error) {
		return table, nil
	})
}
