package apptest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// The throttling faults. FailWith fails a call at the Initialize step, before
// the SDK's retryer, so it fails once and for good; a throttle has to reach
// the retryer to test it. So *Calls is also the clients' HTTP client (see
// New), and ThrottleWith answers chosen attempts on the wire, below the
// retry loop, with the error response AWS sends when it throttles: the
// SDK's own deserializer turns it into the service's exception and its own
// retryer decides, with its real backoff and quota, to try again.

// Throttle is an error code AWS answers a throttled request with.
type Throttle string

// The throttling codes the tests inject.
const (
	// ThrottlingException is DynamoDB's answer when a request rate limit
	// (control plane, or on-demand table scaling) is exceeded.
	ThrottlingException Throttle = "ThrottlingException"
	// ProvisionedThroughputExceeded is DynamoDB's answer when a table or
	// index is over its capacity.
	ProvisionedThroughputExceeded Throttle = "ProvisionedThroughputExceededException"
	// TooManyRequests is SES v2's throttling answer.
	TooManyRequests Throttle = "TooManyRequestsException"
)

// wire is the HTTP state of one Calls: the real client, and the throttle.
type wire struct {
	mu       sync.Mutex
	client   *awshttp.BuildableClient
	throttle func(op string, attempt int) Throttle
	attempts map[string]int
	order    []string
}

// wires holds each Calls' wire state; Calls itself is declared in calls.go,
// which the throttles leave alone.
var wires sync.Map // *Calls → *wire

func (c *Calls) wire() *wire {
	w, _ := wires.LoadOrStore(c, &wire{client: awshttp.NewBuildableClient(), attempts: map[string]int{}})
	return w.(*wire)
}

// ThrottleWith answers every HTTP attempt for which f returns a code with
// that throttling error instead of sending it; attempt counts the attempts
// of op on the wire since ThrottleWith was called, this one included, so
// the SDK's retries of one call are attempts 1, 2, 3. "" sends the attempt.
// f is called under a lock, one attempt at a time. nil stops throttling.
func (c *Calls) ThrottleWith(f func(op string, attempt int) Throttle) {
	w := c.wire()
	w.mu.Lock()
	w.throttle = f
	w.attempts = map[string]int{}
	w.order = nil
	w.mu.Unlock()
}

// Attempts lists the HTTP attempts since ThrottleWith, in order, each as
// "DynamoDB.UpdateItem" or, when it was throttled,
// "DynamoDB.UpdateItem: ThrottlingException". Unlike Order, it counts the
// retryer's retries.
func (c *Calls) Attempts() []string {
	w := c.wire()
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.order...)
}

// Do is the HTTP client of the Env's AWS clients.
func (c *Calls) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	service := awsmiddleware.GetServiceID(ctx)
	op := service + "." + awsmiddleware.GetOperationName(ctx)
	w := c.wire()
	w.mu.Lock()
	w.attempts[op]++
	code := Throttle("")
	if w.throttle != nil {
		code = w.throttle(op, w.attempts[op])
	}
	if code == "" {
		w.order = append(w.order, op)
	} else {
		w.order = append(w.order, op+": "+string(code))
	}
	w.mu.Unlock()
	if code == "" {
		return w.client.Do(req)
	}
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return throttled(req, service, code), nil
}

// throttled is the response AWS sends for a throttled request, in the
// service's protocol: DynamoDB speaks JSON 1.0 and names the error in the
// body's __type, SES v2 speaks REST-JSON and names it in a header.
func throttled(req *http.Request, service string, code Throttle) *http.Response {
	h := http.Header{}
	h.Set("X-Amzn-Requestid", "apptest-throttled")
	h.Set("X-Amzn-Errortype", string(code))
	status := http.StatusBadRequest
	body := fmt.Sprintf(`{"message":"Rate exceeded (apptest)","__type":"%s"}`, code)
	switch service {
	case "DynamoDB":
		h.Set("Content-Type", "application/x-amz-json-1.0")
		body = fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"Rate exceeded (apptest)"}`, code)
	default:
		h.Set("Content-Type", "application/json")
		status = http.StatusTooManyRequests
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
