package emulator

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPostgres starts a server of its own, runs a query on it, and checks
// that Stop kills it and removes its directory.
func TestPostgres(t *testing.T) {
	if _, err := postgresBin(); err != nil && !inCI() && os.Getenv(EnvSkipIntegration) == "1" {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pg, err := StartPostgres(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Stop()

	conn, err := pgx.Connect(ctx, pg.DSN)
	if err != nil {
		t.Fatalf("connect to %s: %v", pg.DSN, err)
	}
	var encoding, user string
	if err := conn.QueryRow(ctx, "SELECT current_setting('server_encoding'), current_user").Scan(&encoding, &user); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if encoding != "UTF8" || user != "postgres" {
		t.Errorf("server_encoding, current_user = %q, %q; want UTF8, postgres", encoding, user)
	}
	if _, err := os.Stat(filepath.Join(pg.dir, "data", "PG_VERSION")); err != nil {
		t.Errorf("no cluster in %s: %v", pg.dir, err)
	}

	pid := pg.proc.proc.Pid()
	if err := pg.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(pg.dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s: %v; want it removed", pg.dir, err)
	}
	if exec.Command("kill", "-0", strconv.Itoa(pid)).Run() == nil {
		t.Errorf("after Stop, process %d still runs", pid)
	}
	if _, err := pgx.Connect(ctx, pg.DSN); err == nil {
		t.Errorf("after Stop, %s still accepts connections", pg.DSN)
	}
}

// TestPostgresRefusesClosedDir: as root the server runs as the postgres
// user, and a directory it cannot enter is said plainly rather than left
// to initdb's "permission denied".
func TestPostgresRefusesClosedDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the directory to the postgres user")
	}
	closed := t.TempDir() // 0700, owned by root
	_, err := StartPostgres(context.Background(), closed)
	if err == nil {
		t.Fatal("StartPostgres under a 0700 root directory: no error")
	}
	if !strings.Contains(err.Error(), "cannot enter") {
		t.Errorf("StartPostgres under %s: %v; want it to say the postgres user cannot enter it", closed, err)
	}
}
