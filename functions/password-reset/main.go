// Command password-reset is the password-reset Lambda function: it serves the routes
// gateway.FunctionRoutes["password-reset"] names.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passreset/passreset/pkg/function"
)

func main() {
	handler, err := function.Handler("password-reset", os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "password-reset: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}
