package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// Cognito is a running cognito-local, the Cognito user pools emulator from
// the npm package of the same name, with its data in a temporary directory
// of its own.
type Cognito struct {
	// Endpoint is its base URL, "http://127.0.0.1:PORT", for the SDK's
	// BaseEndpoint. It checks no credentials or signatures.
	Endpoint string

	proc     *process
	dir      string
	stopOnce sync.Once
	stopErr  error
}

// cognitoLauncher is the script node runs instead of cognito-local's own
// CLI. cognito-local keeps its pools and users in ".cognito" under the
// working directory and reads its address from $HOST and $PORT, none of
// which the emulator commands here can set; so the script moves to the
// directory given and sets both before it loads the CLI. Running node
// itself, not a shell around it, keeps the process we own (and kill) the
// emulator. Its arguments: data directory, port, CLI script.
const cognitoLauncher = `const [dir, port, cli] = process.argv.slice(1);
process.chdir(dir);
process.env.HOST = "127.0.0.1"; // its default, "localhost", may resolve to ::1
process.env.PORT = port;
require(cli);`

// StartCognito starts cognito-local on a free loopback port with an empty
// data directory under the system's temporary directory (see
// cognitoConfig for the one setting it changes), and returns once
// it answers GET /health. Stop kills it and removes the directory.
// cognito-local comes from the repository's package.json (run "npm ci");
// it needs Node.
func StartCognito(ctx context.Context) (*Cognito, error) {
	root, err := findRepoRoot()
	if err != nil {
		return nil, err
	}
	cli := filepath.Join(root, "node_modules", "cognito-local", "lib", "bin", "start.js")
	if _, err := os.Stat(cli); err != nil {
		return nil, fmt.Errorf("emulator: cognito-local not installed (no %s): run npm ci in %s", cli, root)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("emulator: node not found on PATH: install Node 20+ (cognito-local runs on Node)")
	}
	dir, err := os.MkdirTemp("", "passreset-cognito-")
	if err != nil {
		return nil, fmt.Errorf("emulator: cognito-local data directory: %w", err)
	}
	c := &Cognito{dir: dir}
	if err := writeCognitoConfig(dir); err != nil {
		return nil, errors.Join(err, c.Stop())
	}

	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	p, err := launch(ctx, emulatorCommand{
		name: "cognito-local",
		args: func(port int) []string {
			return []string{node, "-e", cognitoLauncher, dir, strconv.Itoa(port), cli}
		},
		ready: cognitoReady,
	}, 0, io.Discard)
	if err != nil {
		return nil, errors.Join(err, c.Stop())
	}
	c.proc = p
	c.Endpoint = p.endpoint
	return c, nil
}

// cognitoConfig is cognito-local's .cognito/config.json. Its own default
// makes every new pool take email addresses as user names
// (UsernameAttributes ["email"]) and refuse any other user name, which
// CreateUserPool in AWS does only when asked; an empty list here makes
// its pools start as AWS's do, and a test that wants email user names
// asks for them in CreateUserPool.
const cognitoConfig = `{"UserPoolDefaults": {"UsernameAttributes": []}}`

func writeCognitoConfig(dir string) error {
	configDir := filepath.Join(dir, ".cognito")
	if err := os.MkdirAll(configDir, 0o755); err != nil {
		return fmt.Errorf("emulator: cognito-local config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(configDir, "config.json"), []byte(cognitoConfig), 0o644); err != nil {
		return fmt.Errorf("emulator: cognito-local config: %w", err)
	}
	return nil
}

// Stop kills cognito-local and removes its data directory. It is safe to
// call more than once.
func (c *Cognito) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		if c.proc != nil {
			errs = append(errs, c.proc.stop())
		}
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("emulator: remove cognito-local data directory: %w", err))
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// cognitoReady reports whether cognito-local answers its health check.
func cognitoReady(ctx context.Context, endpoint string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
	if err != nil {
		return false
	}
	return answersOK(req)
}

// The cognito-local RunCognito shares with the tests of one test binary.
var cognitos = &shared[Cognito]{what: "cognito-local", runner: "RunCognito"}

// RunCognito starts one cognito-local for a test binary, runs its tests
// and stops it, returning the exit code for os.Exit. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.RunCognito(m)) }
//
// The tests reach it through NeedCognito. When it cannot start, RunCognito
// treats that as Run treats the other emulators: it fails the test binary,
// unless PASSRESET_SKIP_INTEGRATION=1 is set outside CI, when the tests
// that need it skip. With CI set to true nothing ever skips.
func RunCognito(m interface{ Run() int }) int {
	return cognitos.run(m,
		func() (*Cognito, error) { return StartCognito(context.Background()) },
		(*Cognito).Stop)
}

// NeedCognito returns the cognito-local RunCognito started for this test
// binary. When there is none because it could not start and
// PASSRESET_SKIP_INTEGRATION=1 allowed that, it skips the test with the
// reason; when RunCognito was never called, it fails the test.
func NeedCognito(t testing.TB) *Cognito {
	t.Helper()
	return cognitos.need(t)
}
