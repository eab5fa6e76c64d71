// Command link-request is the link-request Lambda function: it serves the routes
// gateway.FunctionRoutes["link-request"] names.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passreset/passreset/pkg/app"
)

func main() {
	handler, err := app.FunctionHandler(context.Background(), "link-request", os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "link-request: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}
