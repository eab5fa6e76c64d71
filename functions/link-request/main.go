// Command link-request is the link-request Lambda function: it serves the routes
// gateway.FunctionRoutes["link-request"] names.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passreset/passreset/pkg/function"
)

func main() {
	handler, err := function.Handler("link-request", os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "link-request: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}
