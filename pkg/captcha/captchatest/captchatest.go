// Package captchatest is a local stand-in for a provider's siteverify API
// (Turnstile's and hCaptcha's are the same): the real endpoints cannot be
// reached from tests. It checks each request as the providers document
// it, and answers by the token it was sent, so one server plays every
// case.
package captchatest

import (
	"mime"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Secret is the secret the stand-in expects; any other is refused as the
// providers refuse it (invalid-input-secret).
const Secret = "0x4AAAAAAAtest-captcha-secret-not-real"

// SiteKey is the site key the stand-in's tokens are solved on. A request
// that names another (hCaptcha's sitekey) is refused as hCaptcha refuses
// it (sitekey-secret-mismatch); one that names none is not checked.
const SiteKey = "0x4AAAAAAAtest-site-key"

// Tokens the stand-in answers: the provider's own answers, and its
// failures.
const (
	Good    = "good-token"       // success
	Bad     = "bad-token"        // success false, invalid-input-response
	Slow    = "slow-token"       // no answer until the client gives up
	Failing = "failing-token"    // 500
	Garbage = "garbage-token"    // 200 with a body that is not JSON
	Empty   = "no-success-token" // 200 with {} : no success field
)

// Request is one siteverify call as received.
type Request struct {
	Method, ContentType      string
	Secret, Response, Remote string
	SiteKey                  string // "" when none was sent
	// Problem says what was wrong with it ("" when nothing was).
	Problem string
}

// Server is a running stand-in.
type Server struct {
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	requests []Request
}

// New starts a stand-in, stopped when the test ends.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/siteverify"
	t.Cleanup(s.srv.Close)
	return s
}

// Requests are the calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	got := Request{Method: r.Method, ContentType: r.Header.Get("Content-Type")}
	mt, _, _ := mime.ParseMediaType(got.ContentType)
	switch err := r.ParseForm(); {
	case r.Method != http.MethodPost:
		got.Problem = "method " + r.Method
	case mt != "application/x-www-form-urlencoded":
		got.Problem = "content type " + got.ContentType
	case err != nil:
		got.Problem = "form: " + err.Error()
	}
	got.Secret, got.Response, got.Remote = r.PostForm.Get("secret"), r.PostForm.Get("response"), r.PostForm.Get("remoteip")
	got.SiteKey = r.PostForm.Get("sitekey")
	s.mu.Lock()
	s.requests = append(s.requests, got)
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case got.Problem != "":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"success":false,"error-codes":["bad-request"]}`))
	case got.Secret != Secret:
		_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-secret"]}`))
	case got.SiteKey != "" && got.SiteKey != SiteKey:
		_, _ = w.Write([]byte(`{"success":false,"error-codes":["sitekey-secret-mismatch"]}`))
	case got.Response == Good:
		_, _ = w.Write([]byte(`{"success":true,"challenge_ts":"2026-01-01T00:00:00Z","hostname":"app.passreset.test","error-codes":[]}`))
	case got.Response == Slow:
		<-r.Context().Done() // the client's timeout, or the server closing
	case got.Response == Failing:
		w.WriteHeader(http.StatusInternalServerError)
	case got.Response == Garbage:
		_, _ = w.Write([]byte(`<html>not json</html>`))
	case got.Response == Empty:
		_, _ = w.Write([]byte(`{}`))
	default:
		_, _ = w.Write([]byte(`{"success":false,"error-codes":["invalid-input-response"]}`))
	}
}
