package gateway_test

import (
	"os"
	"testing"

	"github.com/passreset/passreset/pkg/apptest"
)

// TestMain starts the emulators, and PostgreSQL when
// PASSRESET_TEST_USERS_BACKEND=webhook runs the suite on the hook.
func TestMain(m *testing.M) { os.Exit(apptest.Run(m)) }
