// Command otp-validate is the otp-validate Lambda function: it serves the routes
// gateway.FunctionRoutes["otp-validate"] names.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/passreset/passreset/pkg/app"
)

func main() {
	handler, err := app.FunctionHandler(context.Background(), "otp-validate", os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "otp-validate: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(handler.Handle)
}
