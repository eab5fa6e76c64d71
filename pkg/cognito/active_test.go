package cognito

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

// TestActiveStatuses covers every user status, including those
// cognito-local cannot put a user in (it has no AdminResetUserPassword and
// no federation): the emulator tests cover the rest of the rule.
func TestActiveStatuses(t *testing.T) {
	for _, tc := range []struct {
		status types.UserStatusType
		want   bool
	}{
		{types.UserStatusTypeConfirmed, true},
		{types.UserStatusTypeResetRequired, true},
		{types.UserStatusTypeForceChangePassword, false},
		{types.UserStatusTypeUnconfirmed, false},
		{types.UserStatusTypeExternalProvider, false},
		{types.UserStatusTypeArchived, false},
		{types.UserStatusTypeCompromised, false},
		{types.UserStatusTypeUnknown, false},
		{"", false},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			if got := active(true, "ada@example.com", "true", tc.status); got != tc.want {
				t.Errorf("active(enabled, verified, %q) = %v, want %v", tc.status, got, tc.want)
			}
		})
	}
	if active(true, "ada@example.com", "True", types.UserStatusTypeConfirmed) {
		t.Error(`active with email_verified "True" = true, want false: Cognito writes "true"`)
	}
}
