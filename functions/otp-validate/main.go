// Command otp-validate is the otp-validate Lambda function: it serves the routes
// gateway.FunctionRoutes["otp-validate"] names.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passreset/passreset/pkg/function"
)

func main() {
	handler, err := function.Handler("otp-validate", os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "otp-validate: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}
