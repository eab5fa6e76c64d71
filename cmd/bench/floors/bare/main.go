// Command bare is the bare cold-start floor: a hello-world aws-lambda-go
// bootstrap that imports nothing else, so its init is the runtime client's
// and Go's own.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
