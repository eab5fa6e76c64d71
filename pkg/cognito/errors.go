package cognito

import (
	"errors"
	"fmt"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// CallError is a Cognito call that failed. Its text names the call, the
// error code and the request id, and leaves out the message AWS sent:
// such a message may quote the request, and ListUsers's request holds an
// email and AdminSetUserPassword's a password, neither of which may reach
// a log. errors.As and errors.Is still reach the SDK's error through Unwrap.
type CallError struct {
	Op  string // what was being done: "list users by email", "set password"
	Err error
}

func callError(op string, err error) error { return &CallError{Op: op, Err: err} }

func (e *CallError) Error() string {
	var api smithy.APIError
	if !errors.As(e.Err, &api) {
		// Not an answer from Cognito (a network failure, a cancelled
		// context): the SDK's text names the call and the endpoint, never
		// the request's body.
		return fmt.Sprintf("cognito: %s: %v", e.Op, e.Err)
	}
	var resp *awshttp.ResponseError
	if errors.As(e.Err, &resp) && resp.RequestID != "" {
		return fmt.Sprintf("cognito: %s: %s (request id %s)", e.Op, api.ErrorCode(), resp.RequestID)
	}
	return fmt.Sprintf("cognito: %s: %s", e.Op, api.ErrorCode())
}

func (e *CallError) Unwrap() error { return e.Err }
