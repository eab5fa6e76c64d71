package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
)

// Postgres is a throwaway PostgreSQL server for tests: a fresh cluster in a
// temporary directory, trust authentication, listening on a free loopback
// port, its socket in the same directory.
type Postgres struct {
	// DSN connects as the superuser "postgres" to the database "postgres":
	// "postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable".
	DSN string

	proc     *process
	dir      string
	stopOnce sync.Once
	stopErr  error
}

// postgresUser is the system user Debian's postgresql package creates, under
// which initdb and the server run when the tests run as root.
const postgresUser = "postgres"

// StartPostgres runs initdb into a new temporary directory under dir (""
// is the system's temporary directory) and starts the server on it, and
// returns once the server accepts connections. Stop kills the server and
// removes the directory. The binaries are found on PATH or else under
// /usr/lib/postgresql/*/bin, where Debian puts them.
//
// initdb and postgres refuse to run as root, so when this process is root
// both run as the "postgres" system user, which then owns the directory:
// dir and every directory above it must let that user through (the system
// temporary directory does; one from t.TempDir does not).
func StartPostgres(ctx context.Context, dir string) (*Postgres, error) {
	bin, err := postgresBin()
	if err != nil {
		return nil, err
	}
	runAs, err := postgresRunAs()
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(dir, "passreset-postgres-")
	if err != nil {
		return nil, fmt.Errorf("emulator: PostgreSQL directory: %w", err)
	}
	pg := &Postgres{dir: root}
	if err := pg.start(ctx, bin, runAs); err != nil {
		return nil, errors.Join(err, pg.Stop())
	}
	return pg, nil
}

func (pg *Postgres) start(ctx context.Context, bin string, runAs *postgresCredential) error {
	data := filepath.Join(pg.dir, "data")
	if runAs != nil {
		if err := runAs.handOver(pg.dir); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()

	// --no-sync: a test cluster need not survive a power cut, and fsync
	// is most of initdb's time on a busy disk.
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
	runAs.apply(initdb)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("emulator: initdb: %w; its output:\n%s", err, indent(string(out)))
	}

	c := emulatorCommand{
		name: "PostgreSQL",
		args: func(port int) []string {
			return runAs.argv(filepath.Join(bin, "postgres"),
				"-D", data,
				"-p", strconv.Itoa(port),
				"-c", "listen_addresses=127.0.0.1",
				"-c", "unix_socket_directories="+pg.dir,
				// A test database need not survive a crash either.
				"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
			)
		},
		ready: func(ctx context.Context, endpoint string) bool {
			port, err := endpointPort(endpoint)
			if err != nil {
				return false
			}
			// pg_isready exits 0 only when the server accepts connections,
			// not while it starts up or recovers.
			return exec.CommandContext(ctx, filepath.Join(bin, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", port, "-U", "postgres").Run() == nil
		},
	}
	p, err := launch(ctx, c, 0, io.Discard)
	if err != nil {
		return err
	}
	pg.proc = p
	port, err := endpointPort(p.endpoint)
	if err != nil {
		return err
	}
	pg.DSN = "postgres://postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
	return nil
}

// endpointPort is the port of the "http://127.0.0.1:PORT" launch makes
// for every child, PostgreSQL included, which speaks no HTTP.
func endpointPort(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", err
	}
	return u.Port(), nil
}

// Stop kills the server and removes its directory. It is safe to call more
// than once.
func (pg *Postgres) Stop() error {
	pg.stopOnce.Do(func() {
		var errs []error
		if pg.proc != nil {
			errs = append(errs, pg.proc.stop())
		}
		if err := os.RemoveAll(pg.dir); err != nil {
			errs = append(errs, fmt.Errorf("emulator: remove PostgreSQL directory: %w", err))
		}
		pg.stopErr = errors.Join(errs...)
	})
	return pg.stopErr
}

// postgresBin is the directory holding initdb, postgres and pg_isready.
func postgresBin() (string, error) {
	if path, err := exec.LookPath("initdb"); err == nil {
		// Debian links /usr/local/bin/initdb and the like into the
		// versioned directory; the server and pg_isready are beside
		// the real file.
		if real, err := filepath.EvalSymlinks(path); err == nil {
			path = real
		}
		return filepath.Dir(path), nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	// The highest version last; "9" would sort after "15", so by number.
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) < versionOf(dirs[j]) })
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("emulator: PostgreSQL not found (no initdb on PATH or under /usr/lib/postgresql/*/bin): apt-get update && apt-get install -y postgresql")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// postgresCredential is the user initdb and the server run as when this
// process is root; a nil one runs them as this process's user.
type postgresCredential struct {
	uid, gid int
}

func postgresRunAs() (*postgresCredential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(postgresUser)
	if err != nil {
		return nil, fmt.Errorf("emulator: running as root, and PostgreSQL refuses to: no %q user to run it as (%v): apt-get install -y postgresql creates it", postgresUser, err)
	}
	uid, uidErr := strconv.Atoi(u.Uid)
	gid, gidErr := strconv.Atoi(u.Gid)
	if err := errors.Join(uidErr, gidErr); err != nil {
		return nil, fmt.Errorf("emulator: the %q user: %w", postgresUser, err)
	}
	return &postgresCredential{uid: uid, gid: gid}, nil
}

// handOver gives dir to the postgres user, after checking that it can
// reach it: a directory on the way that others may not enter would make
// initdb fail with a bare "permission denied".
func (c *postgresCredential) handOver(dir string) error {
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("emulator: PostgreSQL directory: %w", err)
		}
		if info.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("emulator: the %q user, which runs PostgreSQL for root, cannot enter %s (mode %v): start it under a directory others may enter, such as %s", postgresUser, d, info.Mode().Perm(), os.TempDir())
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := os.Chown(dir, c.uid, c.gid); err != nil {
		return fmt.Errorf("emulator: give the PostgreSQL directory to %q: %w", postgresUser, err)
	}
	return os.Chmod(dir, fs.FileMode(0o700))
}

// apply makes cmd, a short-lived command run by exec, run as the postgres
// user. A nil c changes nothing.
func (c *postgresCredential) apply(cmd *exec.Cmd) {
	if c == nil {
		return
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(c.uid), Gid: uint32(c.gid)}}
}

// argv is the command line that runs the long-lived server as the postgres
// user. The server goes through package child, which owns SysProcAttr (its
// process group and parent-death signal), so the user is changed by
// setpriv, which execs in place rather than forking as runuser and su do:
// the process child watches is the server itself. Changing the user clears
// the parent-death signal (prctl(2)), so setpriv sets it again, after the
// change, and a test binary that dies still takes the server with it.
// A nil c returns the command line unchanged.
func (c *postgresCredential) argv(path string, args ...string) []string {
	argv := append([]string{path}, args...)
	if c == nil {
		return argv
	}
	return append([]string{"setpriv",
		"--reuid=" + strconv.Itoa(c.uid), "--regid=" + strconv.Itoa(c.gid), "--clear-groups",
		"--pdeathsig=KILL", "--"}, argv...)
}

// The PostgreSQL server RunPostgres shares with the tests of one test
// binary.
var postgresServers = &shared[Postgres]{what: "PostgreSQL", runner: "RunPostgres"}

// RunPostgres starts one PostgreSQL server for a test binary, runs its tests
// and stops it, returning the exit code for os.Exit; the tests reach it
// through NeedPostgres. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(emulator.RunPostgres(m)) }
//
// When PostgreSQL cannot start, the rule is Run's: the binary fails, unless
// PASSRESET_SKIP_INTEGRATION=1 outside CI lets the tests that need it skip.
// With CI set to true nothing ever skips.
func RunPostgres(m interface{ Run() int }) int {
	return postgresServers.run(m,
		func() (*Postgres, error) { return StartPostgres(context.Background(), "") },
		(*Postgres).Stop)
}

// NeedPostgres returns the server RunPostgres started for this test binary;
// it skips the test when PASSRESET_SKIP_INTEGRATION=1 let the server's
// failure to start pass, and fails it when RunPostgres was never called.
func NeedPostgres(t testing.TB) *Postgres {
	t.Helper()
	return postgresServers.need(t)
}
