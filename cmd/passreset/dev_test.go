package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/passreset/passreset/pkg/apptest"
	"github.com/passreset/passreset/pkg/emulator"
)

// These tests run passreset as a user would: the binary, built once, and
// one "passreset dev" on free ports shared by the package's tests, driven
// over real HTTP. TestMain stops it with SIGINT and checks that every port
// it held is free again.

// bin is the passreset binary TestMain built.
var bin string

// dev is the shared dev stack, started by the first test that needs it.
var dev struct {
	once     sync.Once
	cmd      *exec.Cmd
	out      *apptest.LogBuffer
	exited   chan error
	stateDir string
	api      string // http://localhost:PORT
	ses      string
	dynamodb string
	err      error
}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "passreset-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "passreset")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build passreset: %v\n%s", err, out)
		return 1
	}
	// The support tests run the service in-process on the emulators
	// (apptest); the others start their own dev stack when they need it.
	code := apptest.Run(m)
	if dev.cmd != nil && dev.err == nil {
		if err := stopDev(); err != nil {
			fmt.Fprintf(os.Stderr, "passreset dev did not stop cleanly: %v\noutput:\n%s", err, dev.out.String())
			code = 1
		}
	}
	return code
}

// needDev starts the shared dev stack, or skips the test where
// emulator.Run would (PASSRESET_SKIP_INTEGRATION=1 outside CI).
func needDev(t *testing.T) {
	t.Helper()
	dev.once.Do(startDev)
	if dev.err != nil {
		if os.Getenv(emulator.EnvSkipIntegration) == "1" && os.Getenv("CI") != "true" {
			t.Skipf("passreset dev did not start (%s=1): %v", emulator.EnvSkipIntegration, dev.err)
		}
		t.Fatalf("passreset dev did not start: %v", dev.err)
	}
}

var urlLine = regexp.MustCompile(`(?m)^\s*(API|Mail viewer|DynamoDB):\s+(\S+)`)

func startDev() {
	var err error
	if dev.stateDir, err = os.MkdirTemp("", "passreset-dev-"); err != nil {
		dev.err = err
		return
	}
	dev.out = &apptest.LogBuffer{}
	dev.cmd = exec.Command(bin, "dev", "--port", "0", "--ses-port", "0", "--dynamodb-port", "0", "--state-dir", dev.stateDir)
	dev.cmd.Env = cleanEnv()
	dev.cmd.Stdout, dev.cmd.Stderr = dev.out, dev.out
	if dev.err = dev.cmd.Start(); dev.err != nil {
		return
	}
	dev.exited = make(chan error, 1)
	go func() { dev.exited <- dev.cmd.Wait() }()

	deadline := time.After(90 * time.Second)
	for {
		urls := map[string]string{}
		for _, m := range urlLine.FindAllStringSubmatch(dev.out.String(), -1) {
			urls[m[1]] = m[2]
		}
		if len(urls) == 3 {
			dev.api, dev.ses, dev.dynamodb = urls["API"], urls["Mail viewer"], urls["DynamoDB"]
			return
		}
		select {
		case err := <-dev.exited:
			dev.err = fmt.Errorf("exited (%v) before it was ready:\n%s", err, dev.out.String())
			return
		case <-deadline:
			dev.cmd.Process.Kill()
			dev.err = fmt.Errorf("not ready within 90s:\n%s", dev.out.String())
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stopDev is Ctrl-C: it must exit 0 and leave every port free.
func stopDev() error {
	defer os.RemoveAll(dev.stateDir)
	if err := dev.cmd.Process.Signal(syscall.SIGINT); err != nil {
		return err
	}
	select {
	case err := <-dev.exited:
		if err != nil {
			return fmt.Errorf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		dev.cmd.Process.Kill()
		return fmt.Errorf("still running 30s after SIGINT")
	}
	for _, u := range []string{dev.api, dev.ses, dev.dynamodb} {
		parsed, err := url.Parse(u)
		if err != nil {
			return err
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", parsed.Port()))
		if err != nil {
			return fmt.Errorf("port of %s still taken after stop: %v", u, err)
		}
		l.Close()
	}
	if _, err := os.Stat(filepath.Join(dev.stateDir, "dev.json")); err == nil {
		return fmt.Errorf("dev.json left behind")
	}
	return nil
}

// cleanEnv is the environment without AWS settings, so that the commands
// go where their flags say and nowhere else.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

// passreset runs the binary and returns its exit code and output.
func passreset(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), string(out)
		}
		t.Fatalf("passreset %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// call sends a JSON body and decodes the JSON answer.
func call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, dev.api+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "passreset-test/1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not a JSON object: %q", method, path, raw)
	}
	if got := resp.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, got)
	}
	return resp.StatusCode, out
}

// lastMail finds re in the newest mail to addr in the SES emulator's
// /store, waiting briefly: the mail is sent before the answer, but the
// emulator is another process.
func lastMail(t *testing.T, addr string, re *regexp.Regexp) string {
	t.Helper()
	stack := &emulator.Stack{SESEndpoint: dev.ses}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		mails, err := stack.Mails(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i := len(mails) - 1; i >= 0; i-- {
			if len(mails[i].To) == 1 && mails[i].To[0] == addr {
				if m := re.FindStringSubmatch(mails[i].Text); m != nil {
					return m[1]
				}
			}
		}
	}
	t.Fatalf("no mail to %s matching %s in %s/store", addr, re, dev.ses)
	return ""
}

func wantExit(t *testing.T, want int, args ...string) string {
	t.Helper()
	code, out := passreset(t, args...)
	if code != want {
		t.Errorf("passreset %s: exit %d, want %d; output:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}

// TestCodeFlow resets the demo account's password with a mailed code.
func TestCodeFlow(t *testing.T) {
	needDev(t)
	const email, newPassword = "demo@example.com", "a fresh demo passphrase 7"
	wantExit(t, 0, "user", "check", "--endpoint", dev.dynamodb, "--email", email, "--password", "demo-password-1")

	status, body := call(t, "POST", "/auth/otp", map[string]string{"action": "create", "email": email})
	if status != 200 || body["message"] != "Successfully sent OTP." {
		t.Fatalf("create: got %d %v", status, body)
	}
	code := lastMail(t, email, regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`))
	status, body = call(t, "POST", "/auth/otp", map[string]string{
		"action": "validate", "email": email, "otp": code, "new_password": newPassword,
	})
	if status != 200 || body["message"] != "Successfully validated OTP and reset password." || body["success"] != true {
		t.Fatalf("validate: got %d %v", status, body)
	}
	wantExit(t, 0, "user", "check", "--endpoint", dev.dynamodb, "--email", email, "--password", newPassword)
	wantExit(t, 1, "user", "check", "--endpoint", dev.dynamodb, "--email", email, "--password", "demo-password-1")

	// The code is used: a second reset with it fails.
	status, body = call(t, "POST", "/auth/otp", map[string]string{
		"action": "validate", "email": email, "otp": code, "new_password": "yet another passphrase 8",
	})
	if status != 400 || body["message"] != "Invalid or expired OTP." {
		t.Errorf("reused code: got %d %v, want 400 Invalid or expired OTP.", status, body)
	}
}

// TestLinkFlow adds an account with the CLI and resets it with a mailed
// link, following the link's path.
func TestLinkFlow(t *testing.T) {
	needDev(t)
	suffix := randomHex(t)
	email := "link-" + suffix + "@example.com"
	const oldPassword, newPassword = "an old link passphrase 1", "a new link passphrase 2"
	out := wantExit(t, 0, "user", "add", "--endpoint", dev.dynamodb, "--email", email, "--username", "link"+suffix, "--password", oldPassword)
	if strings.Contains(out, oldPassword) {
		t.Errorf("user add printed the password: %s", out)
	}
	wantExit(t, 2, "user", "add", "--endpoint", dev.dynamodb, "--email", email, "--password", oldPassword)

	status, body := call(t, "POST", "/auth/request-reset-password", map[string]string{"email": email})
	if status != 200 || body["message"] != "Reset link sent" {
		t.Fatalf("request link: got %d %v", status, body)
	}
	// RESET_URL is the dev API's own page, on the port it really has.
	token := lastMail(t, email, regexp.MustCompile(regexp.QuoteMeta(dev.api)+`/auth/reset-password/([0-9a-f]{64})`))
	status, body = call(t, "POST", "/auth/reset-password/"+token, map[string]string{"new_password": newPassword})
	if status != 200 || body["message"] != "Password has been reset" {
		t.Fatalf("reset: got %d %v", status, body)
	}
	// No --endpoint: the CLI finds the dev stack by its state directory.
	wantExit(t, 0, "user", "check", "--state-dir", dev.stateDir, "--email", email, "--password", newPassword)
	wantExit(t, 1, "user", "check", "--state-dir", dev.stateDir, "--email", email, "--password", oldPassword)
	wantExit(t, 1, "user", "check", "--endpoint", dev.dynamodb, "--email", "nobody-"+suffix+"@example.com", "--password", oldPassword)
}

func TestNoRoute(t *testing.T) {
	needDev(t)
	status, body := call(t, "POST", "/not/a/route", map[string]string{})
	if status != 404 || body["message"] != "Not Found" {
		t.Errorf("got %d %v, want 404 Not Found", status, body)
	}
}

// TestSecondInstance: a second passreset dev says where the first runs.
func TestSecondInstance(t *testing.T) {
	needDev(t)
	port := strings.TrimPrefix(dev.api, "http://localhost:")
	pid := dev.cmd.Process.Pid
	out := wantExit(t, 2, "dev", "--port", port, "--state-dir", dev.stateDir)
	want := fmt.Sprintf("passreset dev is already running on %s (pid %d); stop it with Ctrl-C there", dev.api, pid)
	if !strings.Contains(out, want) {
		t.Errorf("same state directory: got\n%s\nwant it to say %q", out, want)
	}
	// Another clone (another state directory), same port.
	out = wantExit(t, 2, "dev", "--port", port, "--ses-port", "0", "--dynamodb-port", "0", "--state-dir", t.TempDir())
	if want := "port " + port + " is already in use"; !strings.Contains(out, want) {
		t.Errorf("same port: got\n%s\nwant it to say %q", out, want)
	}
}

func TestTablesCreateIsIdempotent(t *testing.T) {
	needDev(t)
	out := wantExit(t, 0, "tables", "create", "--endpoint", dev.dynamodb)
	if !strings.Contains(out, "passreset-tokens and passreset-users are ready") {
		t.Errorf("got %q", out)
	}
	suffix := randomHex(t)
	wantExit(t, 0, "tables", "create", "--endpoint", dev.dynamodb, "--tokens-table", "t-"+suffix, "--users-table", "u-"+suffix)
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"user"}, {"user", "check", "--email", "a@b.c"}, {"tables"}} {
		code, out := passreset(t, args...)
		if code != 2 || !strings.Contains(out, "Usage:") {
			t.Errorf("passreset %v: exit %d, want 2 with the usage; output:\n%s", args, code, out)
		}
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
