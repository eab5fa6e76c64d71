// Command env answers {"name": "VAR"} with that variable's value and what
// the Runtime API told it about the invocation.
package main

import (
	"context"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Name string `json:"name"`
}

type reply struct {
	Value        string `json:"value"`
	Set          bool   `json:"set"`
	FunctionName string `json:"functionName"`
	RequestID    string `json:"requestId"`
	FunctionARN  string `json:"functionArn"`
	DeadlineInMS int64  `json:"deadlineInMs"`
}

func main() {
	lambda.Start(func(ctx context.Context, req request) (reply, error) {
		v, set := os.LookupEnv(req.Name)
		r := reply{Value: v, Set: set, FunctionName: lambdacontext.FunctionName}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			r.RequestID, r.FunctionARN = lc.AwsRequestID, lc.InvokedFunctionArn
		}
		if d, ok := ctx.Deadline(); ok {
			r.DeadlineInMS = time.Until(d).Milliseconds()
		}
		return r, nil
	})
}
