package cognito_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// standIn sits in front of cognito-local and answers the calls it is told
// to answer itself, recording each of them; every other call goes through
// to cognito-local untouched. It covers what the emulator lacks
// (AdminUserGlobalSignOut; a password policy AdminSetUserPassword obeys)
// and lets a test make Cognito fail, without a fake of the whole API.
type standIn struct {
	URL string

	mu      sync.Mutex
	answers map[string]answer     // by operation, "AdminUserGlobalSignOut"
	calls   map[string][]sentCall // what reached it, answered or passed on
}

// answer is what the stand-in sends back: a status and a JSON body, in
// the form Cognito's JSON protocol uses ({"__type": ..., "message": ...}
// for an error).
type answer struct {
	status int
	body   string
}

// sentCall is one request as the stand-in saw it.
type sentCall struct {
	body map[string]any
}

func newStandIn(t *testing.T, emulatorEndpoint string) *standIn {
	t.Helper()
	target, err := url.Parse(emulatorEndpoint)
	if err != nil {
		t.Fatalf("parse emulator endpoint: %v", err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	s := &standIn{answers: map[string]answer{}, calls: map[string][]sentCall{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		// "AWSCognitoIdentityProviderService.ListUsers" -> "ListUsers"
		op := r.Header.Get("X-Amz-Target")
		op = op[strings.LastIndexByte(op, '.')+1:]
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.calls[op] = append(s.calls[op], sentCall{body: body})
		a, answered := s.answers[op]
		s.mu.Unlock()
		if !answered {
			r.Body = io.NopCloser(bytes.NewReader(raw))
			proxy.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-Requestid", "stand-in-request")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// answerWith makes the stand-in answer op itself from now on.
func (s *standIn) answerWith(op string, a answer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[op] = a
}

// passOn makes the stand-in pass op on to cognito-local again.
func (s *standIn) passOn(op string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.answers, op)
}

// cognitoError is the body of an error answer. The tests' codes and
// messages are plain ASCII, which Go quotes as JSON does.
func cognitoError(code, message string) string {
	return fmt.Sprintf(`{"__type": %q, "message": %q}`, code, message)
}

// sent returns the calls of op that reached the stand-in so far.
func (s *standIn) sent(op string) []sentCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sentCall(nil), s.calls[op]...)
}
