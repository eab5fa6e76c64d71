package devserver

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
)

// maxPayload is the largest request body an HTTP API takes: "Payload size:
// 10 MB", a quota that cannot be increased (Amazon API Gateway Developer
// Guide, "Quotas for configuring and running an HTTP API in API Gateway",
// https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html).
// API Gateway passes a body up to it to the function, whose own limit (the
// contract's 16 KiB) answers, and refuses a larger one itself.
const maxPayload = 10 << 20

// tooLarge is the body of API Gateway's answer to a body over maxPayload,
// a 413 in plain text with no CORS headers; the function never runs. AWS
// does not document it; clients recorded it: this text from an HTTP API
// in front of a load balancer (https://github.com/chroma-core/chroma/issues/1458),
// with its status and Content-Type from a REST API
// (https://github.com/koki-develop/lgtm-generator/issues/10).
const tooLarge = "HTTP content length exceeded 10485760 bytes."

// Server is API Gateway in front of the functions, on one machine: it
// routes each request by the route keys of gateway.FunctionRoutes() (which
// template.yaml wires in AWS; pkg/deploy's tests keep the two in step) to
// the handler of the function that serves it, as a payload 2.0 event.
type Server struct {
	keys     []string
	handlers map[string]*gateway.Handler // route key -> its function's handler
	cors     cors                        // API Gateway's CORS (cors.go)
	access   io.Writer                   // one line per request
	accessMu sync.Mutex
	metrics  *counters // the handlers' metrics since start (metrics.go)
}

// NewServer builds the handler of every function in gateway.FunctionRoutes
// over flows, with the edge's options, each logging to log with its
// function's name, and answers browsers on opts.AllowedOrigins as API
// Gateway's CORS configuration does. The handlers' metrics are counted for
// the routes MetricsPath and MetricsJSONPath, and written to opts.Metrics
// as well unless it is nil (not standard output, as for a function). It
// fails when opts are invalid (gateway.NewWithOptions).
func NewServer(flows gateway.Flows, opts gateway.Options, log *slog.Logger, access io.Writer) (*Server, error) {
	s := &Server{handlers: map[string]*gateway.Handler{}, cors: newCORS(opts.AllowedOrigins), access: access, metrics: newCounters(time.Now())}
	if opts.Metrics != nil {
		opts.Metrics = io.MultiWriter(s.metrics, opts.Metrics)
	} else {
		opts.Metrics = s.metrics
	}
	for fn, keys := range gateway.FunctionRoutes() {
		h, err := gateway.ForFunctionWithOptions(fn, flows, log.With("function", fn), opts)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", fn, err)
		}
		for _, k := range keys {
			s.handlers[k] = h
			s.keys = append(s.keys, k)
		}
	}
	sort.Strings(s.keys)
	return s, nil
}

// ServeHTTP answers one request as API Gateway and the function would, or
// from the dev server's own routes (MetricsPath, MetricsJSONPath).
// The log line names the route key, never the raw path: a path can hold a
// reset token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.serveDev(w, r) {
		return
	}
	start := time.Now()
	// API Gateway takes the whole body, up to its limit, before it
	// answers, so a client that writes all of it before reading (Python's
	// urllib) gets the answer, not a connection closed under it.
	body, err := readPayload(w, r)
	var over *http.MaxBytesError
	switch {
	case errors.As(err, &over):
		w.Header().Set("Content-Type", "text; charset=utf-8")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, tooLarge)
		s.logf("%s (body over API Gateway's %d bytes) -> 413 (%d ms)", r.Method, maxPayload, time.Since(start).Milliseconds())
		return
	case err != nil:
		http.Error(w, `{"message":"could not read the request body"}`, http.StatusBadRequest)
		s.logf("%s -> 400 (%d ms) body unreadable", r.Method, time.Since(start).Milliseconds())
		return
	}
	if s.cors.isPreflight(r) {
		s.cors.preflight(w, r)
		s.logf("OPTIONS (CORS preflight, answered by the gateway) -> 204 (%d ms)", time.Since(start).Milliseconds())
		return
	}
	s.cors.answer(w, r)
	key, params, ok := apigwtest.Match(s.keys, r.Method, r.URL.EscapedPath())
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
		s.logf("%s (no route) -> 404 (%d ms)", r.Method, time.Since(start).Milliseconds())
		return
	}
	ev := apigwtest.EventFor(r, key, params, body, peerIP(r.RemoteAddr))
	resp, err := s.handlers[key].Handle(r.Context(), ev)
	if err != nil {
		// Handle documents that it never returns one; if it did, Lambda
		// would answer API Gateway's own 500.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, `{"message":"Internal Server Error"}`)
		s.logf("%s -> 500 (%d ms) handler error", key, time.Since(start).Milliseconds())
		return
	}
	for k, v := range resp.Headers {
		if !s.cors.drops(k) {
			w.Header().Set(k, v)
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			if !s.cors.drops(k) {
				w.Header().Add(k, v)
			}
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			out = nil
		}
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	w.Write(out)
	s.logf("%s -> %d (%d ms)", key, status, time.Since(start).Milliseconds())
}

// readPayload reads r's whole body, up to maxPayload; a longer one is an
// *http.MaxBytesError, found before reading when the client announces the
// length, and the connection closes after the answer.
func readPayload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > maxPayload {
		return nil, &http.MaxBytesError{Limit: maxPayload}
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
}

func (s *Server) logf(format string, args ...any) {
	if s.access == nil {
		return
	}
	line := time.Now().Format("15:04:05 ") + fmt.Sprintf(format, args...) + "\n"
	s.accessMu.Lock()
	defer s.accessMu.Unlock()
	io.WriteString(s.access, line)
}

// peerIP is the address of the connection's other end, as API Gateway's
// sourceIp: never a header such as X-Forwarded-For, which the client
// writes.
func peerIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}
