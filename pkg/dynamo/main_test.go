package dynamo_test

import (
	"os"
	"testing"

	"github.com/passreset/passreset/pkg/emulator"
)

func TestMain(m *testing.M) { os.Exit(emulator.Run(m)) }
