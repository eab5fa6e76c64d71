package main

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInvoke runs every function's real bootstrap, built for this machine,
// on each sample event of events/, against the dev stack: each answers a
// status of the contract with a JSON body, never a crash.
func TestInvoke(t *testing.T) {
	needDev(t)
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no sample events in events/")
	}
	functions := map[string]bool{}
	for _, file := range files {
		fn, _, _ := strings.Cut(filepath.Base(file), ".")
		functions[fn] = true
		t.Run(filepath.Base(file), func(t *testing.T) {
			// stdout is the response; the function's log and the timing
			// go to stderr.
			cmd := exec.Command(bin, "invoke", fn, "--event", file, "--state-dir", dev.stateDir)
			cmd.Env = cleanEnv()
			var stderr strings.Builder
			cmd.Stderr = &stderr
			stdout, err := cmd.Output()
			out := string(stdout) + stderr.String()
			if err != nil {
				t.Fatalf("passreset invoke %s --event %s: %v\n%s", fn, file, err, out)
			}
			line := strings.TrimSpace(string(stdout))
			var resp struct {
				StatusCode int               `json:"statusCode"`
				Headers    map[string]string `json:"headers"`
				Body       string            `json:"body"`
			}
			if err := json.Unmarshal([]byte(line), &resp); err != nil {
				t.Fatalf("response is not an API Gateway v2 response: %v\n%s", err, out)
			}
			switch resp.StatusCode {
			case 200, 201, 400, 401, 404, 429:
			default:
				t.Errorf("status %d is not an answer of the contract to a sample event:\n%s", resp.StatusCode, out)
			}
			if ct := resp.Headers["Content-Type"]; strings.HasPrefix(ct, "application/json") {
				var body map[string]any
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
					t.Errorf("body is not a JSON object: %q", resp.Body)
				}
			}
		})
	}
	for _, fn := range []string{"otp-create", "otp-validate", "link-request", "password-reset"} {
		if !functions[fn] {
			t.Errorf("no sample event for %s in events/", fn)
		}
	}
}

func TestInvokeWithoutDevStack(t *testing.T) {
	code, out := passreset(t, "invoke", "otp-create", "--event", filepath.Join("..", "..", "events", "otp-create.generate-otp.json"), "--state-dir", t.TempDir())
	if code != 2 || !strings.Contains(out, "no passreset dev is running") {
		t.Errorf("exit %d, output:\n%s\nwant exit 2 saying no dev stack runs", code, out)
	}
}

// TestInvokeFunctionError reads the RIE's 200s: a function's error and its
// timeout are failures, an API Gateway response is not.
func TestInvokeFunctionError(t *testing.T) {
	tests := []struct {
		name, body, want string
		failed           bool
	}{
		{"response", `{"statusCode":400,"headers":{},"body":"{\"errorType\":\"x\"}"}`, "", false},
		{"error", `{"errorMessage":"account demo is locked","errorType":"LockedError"}`, "LockedError: account demo is locked", true},
		{"timeout", `Task timed out after 10.00 seconds`, "Sandbox.Timedout: Task timed out after 10.00 seconds", true},
		{"not json", `hello`, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, failed := functionError([]byte(tt.body))
			if got != tt.want || failed != tt.failed {
				t.Errorf("functionError(%s) = %q, %v; want %q, %v", tt.body, got, failed, tt.want, tt.failed)
			}
		})
	}
}
