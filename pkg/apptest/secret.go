package apptest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// SecretStore stands in for Secrets Manager's GetSecretValue, for tests
// that rotate the HMAC key: give New the setting HMAC_KEY_SECRET_ARN, and
// Env.Secret holds the secret's value as the service will next read it.
type SecretStore struct {
	mu    sync.Mutex
	value string
	srv   *httptest.Server
}

// Set replaces the secret's value, as a new AWSCURRENT version would.
func (s *SecretStore) Set(value string) {
	s.mu.Lock()
	s.value = value
	s.mu.Unlock()
}

func newSecretStore(t testing.TB, arn, value string) *SecretStore {
	s := &SecretStore{value: value}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager."); op != "GetSecretValue" {
			http.Error(w, `{"__type":"InvalidRequestException","message":"only GetSecretValue here"}`, http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		value := s.value
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]string{"ARN": arn, "Name": "hmac", "SecretString": value, "VersionId": "v"})
	}))
	t.Cleanup(s.srv.Close)
	return s
}
