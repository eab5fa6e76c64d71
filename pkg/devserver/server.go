package devserver

import (
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/passreset/passreset/pkg/gateway"
)

// maxBody is the contract's largest request body. The server reads one
// byte more, so the handler sees the body is too large and refuses it with
// its family's answer, as it would behind API Gateway.
const maxBody = 16 << 10

// Server is API Gateway in front of the functions, on one machine: it
// routes each request by the template's route keys to the handler of the
// function that serves it in AWS, as a payload 2.0 event.
type Server struct {
	keys     []string
	handlers map[string]*gateway.Handler // route key -> its function's handler
	cors     cors                        // API Gateway's CORS (cors.go)
	access   io.Writer                   // one line per request
	accessMu sync.Mutex
}

// NewServer builds the handler of every function in routes over flows,
// with the edge's options, and answers browsers on opts.AllowedOrigins as
// API Gateway's CORS configuration does. It fails when the template routes
// a key to a function whose handler does not serve it: the template and
// the code disagree.
func NewServer(routes Routes, flows gateway.Flows, opts gateway.Options, log *slog.Logger, access io.Writer) (*Server, error) {
	s := &Server{keys: routes.Keys(), handlers: map[string]*gateway.Handler{}, cors: newCORS(opts.AllowedOrigins), access: access}
	for fn, keys := range routes {
		h, err := gateway.ForFunctionWithOptions(fn, flows, log.With("function", fn), opts)
		if err != nil {
			return nil, fmt.Errorf("template.yaml function %s: %w", fn, err)
		}
		for _, k := range keys {
			if !h.Serves(k) {
				return nil, fmt.Errorf("template.yaml routes %q to %s, whose handler does not serve it (see gateway.FunctionRoutes)", k, fn)
			}
			s.handlers[k] = h
		}
	}
	return s, nil
}

// ServeHTTP answers one request as API Gateway and the function would.
// The log line names the route key, never the raw path: a path can hold a
// reset token.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if s.cors.isPreflight(r) {
		s.cors.preflight(w, r)
		s.logf("OPTIONS (CORS preflight, answered by the gateway) -> 204 (%d ms)", time.Since(start).Milliseconds())
		return
	}
	s.cors.answer(w, r)
	key, params, ok := gateway.Match(s.keys, r.Method, r.URL.EscapedPath())
	if !ok {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, `{"message":"Not Found"}`)
		s.logf("%s (no route in template.yaml) -> 404 (%d ms)", r.Method, time.Since(start).Milliseconds())
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		http.Error(w, `{"message":"could not read the request body"}`, http.StatusBadRequest)
		s.logf("%s -> 400 (%d ms) body unreadable", key, time.Since(start).Milliseconds())
		return
	}
	ev := gateway.EventFor(r, key, params, body, peerIP(r.RemoteAddr))
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
