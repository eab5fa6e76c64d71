package devserver

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSignOutStandIn: the dev stack's stand-in signs out in its pool only,
// answering another as Cognito answers a pool it does not have, and passes
// every other call on.
func TestSignOutStandIn(t *testing.T) {
	passed := 0
	h := signOutStandIn(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed++ }), "local_Dev")
	for _, c := range []struct {
		name, op, body string
		status         int
		want           string
	}{
		{"the pool", "AdminUserGlobalSignOut", `{"UserPoolId":"local_Dev","Username":"ada"}`, 200, `{}`},
		{"another pool", "AdminUserGlobalSignOut", `{"UserPoolId":"local_Other","Username":"ada"}`, 400, `"__type":"ResourceNotFoundException"`},
		{"no body", "AdminUserGlobalSignOut", ``, 400, `"__type":"ResourceNotFoundException"`},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService."+c.op)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.name, rec.Code, rec.Body, c.status, c.want)
		}
	}
	req := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.AdminGetUser")
	h.ServeHTTP(httptest.NewRecorder(), req)
	if passed != 1 {
		t.Errorf("%d calls passed on, want 1 (AdminGetUser)", passed)
	}
}
