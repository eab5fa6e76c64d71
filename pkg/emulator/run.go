package emulator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// The environment variables Run reads.
const (
	// EnvDynamoDBEndpoint and EnvSESEndpoint, when both set, name
	// emulators already running (say, those of "make dev"); Run uses them
	// instead of starting its own.
	EnvDynamoDBEndpoint = "PASSRESET_TEST_DYNAMODB_ENDPOINT"
	EnvSESEndpoint      = "PASSRESET_TEST_SES_ENDPOINT"
	// EnvSkipIntegration set to "1" lets tests that need the emulators skip
	// when they cannot start, outside CI. In CI they never skip.
	EnvSkipIntegration = "PASSRESET_SKIP_INTEGRATION"
)

// reuseTimeout bounds the check that emulators named by the environment
// answer: they are already running, so a slow answer means a wrong address.
const reuseTimeout = 10 * time.Second

// The stack Run shares with the tests of one test binary.
var stacks = &shared[Stack]{what: "the emulators", runner: "Run"}

// Run starts one stack for a test binary, runs its tests and stops the
// stack, returning the exit code for os.Exit. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.Run(m)) }
//
// The tests reach the stack through Current or Need. When
// PASSRESET_TEST_DYNAMODB_ENDPOINT and PASSRESET_TEST_SES_ENDPOINT are both
// set, Run checks that they answer and uses them, starting nothing.
//
// When the emulators cannot start, Run prints why to stderr and returns 1
// without running any test, unless PASSRESET_SKIP_INTEGRATION=1 is set
// outside CI: then it runs the tests with no stack, and those calling Need
// skip. With CI set to true, nothing ever skips.
func Run(m interface{ Run() int }) int {
	return stacks.run(m, testStack, (*Stack).Stop)
}

// Current returns the stack Run started for this test binary, or nil when
// Run was not called or the emulators could not start and skipping was
// allowed.
func Current() *Stack { return stacks.current() }

// Need returns the stack Run started for this test binary. When there is
// none because the emulators could not start and PASSRESET_SKIP_INTEGRATION=1
// allowed that, it skips the test with the reason; when Run was never
// called, it fails the test.
func Need(t testing.TB) *Stack {
	t.Helper()
	return stacks.need(t)
}

// inCI reports whether CI is set to a true value ("true", "1", ...).
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}

// testStack starts a stack, or uses the one the environment names.
func testStack() (*Stack, error) {
	dynamo, ses := os.Getenv(EnvDynamoDBEndpoint), os.Getenv(EnvSESEndpoint)
	switch {
	case dynamo == "" && ses == "":
		return Start(context.Background(), Options{})
	case dynamo == "" || ses == "":
		return nil, fmt.Errorf("emulator: only one of %s and %s is set: set both to use running emulators, or neither to start them", EnvDynamoDBEndpoint, EnvSESEndpoint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), reuseTimeout)
	defer cancel()
	var errs []error
	if !dynamoReady(ctx, dynamo) {
		errs = append(errs, fmt.Errorf("emulator: %s=%s does not answer a DynamoDB ListTables", EnvDynamoDBEndpoint, dynamo))
	}
	if !sesReady(ctx, ses) {
		errs = append(errs, fmt.Errorf("emulator: %s=%s does not answer GET /health-check", EnvSESEndpoint, ses))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Stack{DynamoDBEndpoint: dynamo, SESEndpoint: ses}, nil
}
