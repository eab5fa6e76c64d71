package runtimeapi

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// The Runtime API's headers, as aws-lambda-go reads and writes them.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS  = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	// A response body that fails while streaming ends with these trailers
	// instead of a status.
	trailerErrorType = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody = "Lambda-Runtime-Function-Error-Body"
)

// next is GET /runtime/invocation/next: the bootstrap is ready for an
// event, and waits for one.
func (p *Process) next(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.initFailed:
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "the runtime has reported an init error")
		return
	default:
	}
	p.readyOnce.Do(func() {
		p.initTime = time.Since(p.execAt)
		close(p.ready)
	})
	select {
	case inv := <-p.events:
		h := w.Header()
		h.Set(headerRequestID, inv.id)
		h.Set(headerDeadlineMS, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set(headerFunctionARN, p.arn)
		h.Set(headerTraceID, newTraceID())
		h.Set("Content-Type", "application/json")
		// A failed write leaves the invocation unanswered: it times out.
		w.Write(inv.event)
	case <-p.stopping:
		apiError(w, http.StatusInternalServerError, "Runtime.Stopped", "the process is stopping")
	case <-r.Context().Done():
	}
}

// response is POST /runtime/invocation/{id}/response: the function's answer.
func (p *Process) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		// Lambda fails the invocation, and tells the runtime.
		if inv, ok := p.claim(r.PathValue("id")); ok {
			inv.done <- answer{Result{Error: &FunctionError{
				ErrorType:    "Function.ResponseSizeTooLarge",
				ErrorMessage: fmt.Sprintf("Response payload size exceeded maximum allowed payload size (%d bytes).", maxPayload),
			}}, time.Now()}
		}
		apiError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "response payload over 6 MB")
		return
	case err != nil:
		apiError(w, http.StatusBadRequest, "InvalidRequest", "read the response: "+err.Error())
		return
	}
	inv, ok := p.claim(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation awaits an answer with this request id")
		return
	}
	res := Result{Response: body}
	if typ := r.Trailer.Get(trailerErrorType); typ != "" {
		res = Result{Error: trailerError(typ, r.Trailer.Get(trailerErrorBody))}
	}
	inv.done <- answer{res, time.Now()}
	accepted(w)
}

// invocationError is POST /runtime/invocation/{id}/error: the function
// failed.
func (p *Process) invocationError(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "read the error: "+err.Error())
		return
	}
	inv, ok := p.claim(r.PathValue("id"))
	if !ok {
		apiError(w, http.StatusBadRequest, "InvalidRequestID", "no invocation awaits an answer with this request id")
		return
	}
	inv.done <- answer{Result{Error: parseError(body, r.Header.Get(headerErrorType))}, time.Now()}
	accepted(w)
}

// initError is POST /runtime/init/error: the runtime could not start. The
// error stays the Process's answer to WaitReady and Invoke.
func (p *Process) initError(w http.ResponseWriter, r *http.Request) {
	select {
	case <-p.ready:
		apiError(w, http.StatusForbidden, "InvalidStateTransition", "the runtime has already asked for an event")
		return
	default:
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
	if err != nil {
		apiError(w, http.StatusBadRequest, "InvalidRequest", "read the error: "+err.Error())
		return
	}
	fe := parseError(body, r.Header.Get(headerErrorType))
	p.initFailOnce.Do(func() {
		p.initErr = fe
		close(p.initFailed)
	})
	accepted(w)
}

// claim takes the invocation with request id id off the pending list, so
// that it is answered once.
func (p *Process) claim(id string) (*invocation, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	inv, ok := p.pending[id]
	delete(p.pending, id)
	return inv, ok
}

// accepted is the Runtime API's 202, which aws-lambda-go requires.
func accepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"OK"}`)
}

// apiError answers with the Runtime API's ErrorResponse.
func apiError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		ErrorMessage string `json:"errorMessage"`
		ErrorType    string `json:"errorType"`
	}{message, errorType})
}

// errorBody is an error as runtimes post it. aws-lambda-go's stack frames
// are objects; other runtimes' are strings.
type errorBody struct {
	ErrorMessage string            `json:"errorMessage"`
	ErrorType    string            `json:"errorType"`
	StackTrace   []json.RawMessage `json:"stackTrace"`
}

// parseError reads a posted error. A body that is not the JSON the API
// documents is kept whole as the message; the Lambda-Runtime-Function-Error-Type
// header names the type when the body does not.
func parseError(body []byte, typeHeader string) *FunctionError {
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		e = errorBody{ErrorMessage: string(body)}
	}
	fe := &FunctionError{ErrorType: e.ErrorType, ErrorMessage: e.ErrorMessage}
	if fe.ErrorType == "" {
		fe.ErrorType = typeHeader
	}
	if fe.ErrorType == "" {
		fe.ErrorType = "Runtime.Unknown"
	}
	for _, raw := range e.StackTrace {
		fe.StackTrace = append(fe.StackTrace, stackLine(raw))
	}
	return fe
}

// stackLine renders one stack frame: a string as it is, aws-lambda-go's
// {"path", "line", "label"} as "label (path:line)", anything else as JSON.
func stackLine(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var f struct {
		Path  string `json:"path"`
		Line  int    `json:"line"`
		Label string `json:"label"`
	}
	if json.Unmarshal(raw, &f) == nil && f.Path != "" {
		return fmt.Sprintf("%s (%s:%d)", f.Label, f.Path, f.Line)
	}
	return string(raw)
}

// trailerError reads the error aws-lambda-go sends in trailers when a
// response body fails while it is being sent.
func trailerError(typ, body string) *FunctionError {
	raw, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return &FunctionError{ErrorType: typ, ErrorMessage: body}
	}
	return parseError(raw, typ)
}

// newRequestID is a random UUID (version 4), like Lambda's request ids.
func newRequestID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand, Go 1.24 and later)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceID is an X-Ray trace header for an unsampled trace.
func newTraceID() string {
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8))
}

// randomHex is n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand, Go 1.24 and later)
	return hex.EncodeToString(b)
}
