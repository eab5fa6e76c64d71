// Command otp-create is the otp-create Lambda function: it serves the routes
// gateway.FunctionRoutes["otp-create"] names.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passreset/passreset/pkg/function"
)

func main() {
	handler, err := function.Handler("otp-create", os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "otp-create: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}
