package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// runDeployScript runs scripts/deploy.sh with env (and nothing else of
// this process's environment but PATH) against a fake sam that records
// its arguments, one call per line, and returns the calls, what the script
// wrote to stderr, and its exit code.
func runDeployScript(t *testing.T, env map[string]string) (calls [][]string, stderr string, code int) {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not on PATH")
	}
	bin := t.TempDir()
	record := filepath.Join(bin, "calls")
	// One line per call, each argument on it NUL-terminated.
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done >>" + record + "\necho >>" + record + "\n"
	if err := os.WriteFile(filepath.Join(bin, "sam"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, filepath.Join(repoRoot(t), "scripts", "deploy.sh"))
	cmd.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var errOut strings.Builder
	cmd.Stderr = &errOut
	err = cmd.Run()
	if exit, ok := err.(*exec.ExitError); ok {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("scripts/deploy.sh: %v", err)
	}
	data, _ := os.ReadFile(record)
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" {
			continue
		}
		calls = append(calls, strings.Split(strings.TrimSuffix(line, "\x00"), "\x00"))
	}
	return calls, errOut.String(), code
}

// TestDeployScriptNamesWhatIsMissing: without the values a team must give,
// the deploy stops before SAM runs and names each variable to set.
func TestDeployScriptNamesWhatIsMissing(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string // each is in stderr
	}{
		{"nothing set", nil, []string{"MAIL_FROM is not set", "SES_IDENTITY is not set", "REGION is not set"}},
		{"no Region", map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com"}, []string{"REGION is not set"}},
		{"domain without certificate", map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "eu-west-1", "DOMAIN_NAME": "reset.example.com"}, []string{"CERTIFICATE_ARN is not set"}},
		{"certificate without domain", map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "eu-west-1", "CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:123456789012:certificate/x"}, []string{"DOMAIN_NAME is not set"}},
		{"spaced origins", map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "eu-west-1", "ALLOWED_ORIGINS": "https://a.example.com, https://b.example.com"}, []string{"ALLOWED_ORIGINS has a space"}},
		{"display name", map[string]string{"MAIL_FROM": `Passreset "no-reply@example.com"`, "SES_IDENTITY": "example.com", "REGION": "eu-west-1"}, []string{"MAIL_FROM has a space or a quote"}},
		{"Region name", map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "Ireland"}, []string{`REGION is "Ireland"`}},
		{"empty value SAM would drop", map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "eu-west-1", "PARAMETERS": "UsersUsernameIndexName="}, []string{`PARAMETERS has "UsersUsernameIndexName="`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls, stderr, code := runDeployScript(t, tt.env)
			if code == 0 {
				t.Errorf("exit 0, want a failure")
			}
			if len(calls) != 0 {
				t.Errorf("sam ran %q, want it never run", calls)
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr %q does not say %q", stderr, w)
				}
			}
		})
	}
}

// overrideArg is one --parameter-overrides value as SAM CLI reads it:
// Key="value", the value quoted so that an empty one is passed rather
// than dropped (SAM would then keep the previous value).
var overrideArg = regexp.MustCompile(`^([A-Za-z0-9]+)=("[^"]*"|[^"\s]+)$`)

// TestDeployScriptAsksNothing: with the values given, the script builds and
// then deploys without a question that Enter would answer "no" (no
// --guided, no changeset confirmation), with IAM capability and a managed
// bucket, every value a template parameter, and the optional ones passed
// empty when unset, so a deploy without a domain removes one.
func TestDeployScriptAsksNothing(t *testing.T) {
	s, err := load(readTemplate(t), variants[0])
	if err != nil {
		t.Fatal(err)
	}
	params := s.parameters()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want map[string]string // overrides
	}{
		{
			name: "required values only",
			env:  map[string]string{"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "eu-west-1"},
			want: map[string]string{"MailFrom": `"no-reply@example.com"`, "SesIdentity": `"example.com"`, "DomainName": `""`, "CertificateArn": `""`, "AllowedOrigins": `""`},
		},
		{
			name: "everything",
			env: map[string]string{
				"MAIL_FROM": "no-reply@example.com", "SES_IDENTITY": "example.com", "REGION": "eu-west-1", "STACK_NAME": "passreset-prod",
				"DOMAIN_NAME": "reset.example.com", "CERTIFICATE_ARN": "arn:aws:acm:eu-west-1:123456789012:certificate/x",
				"ALLOWED_ORIGINS": "https://app.example.com,http://localhost:5173",
				"PARAMETERS":      `OtpTtl=5m  ExistingUsersTableName=accounts UsersUsernameIndexName=""`,
			},
			want: map[string]string{
				"MailFrom": `"no-reply@example.com"`, "SesIdentity": `"example.com"`, "DomainName": `"reset.example.com"`,
				"CertificateArn": `"arn:aws:acm:eu-west-1:123456789012:certificate/x"`, "AllowedOrigins": `"https://app.example.com,http://localhost:5173"`,
				"OtpTtl": "5m", "ExistingUsersTableName": "accounts", "UsersUsernameIndexName": `""`,
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls, stderr, code := runDeployScript(t, tt.env)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if len(calls) != 2 || !slices.Equal(calls[0], []string{"build"}) || calls[1][0] != "deploy" {
				t.Fatalf("sam calls %q, want build, then deploy", calls)
			}
			deploy := calls[1]
			stack := tt.env["STACK_NAME"]
			if stack == "" {
				stack = "passreset"
			}
			for _, flags := range [][]string{
				{"--no-confirm-changeset"}, {"--no-fail-on-empty-changeset"}, {"--resolve-s3"},
				{"--capabilities", "CAPABILITY_IAM"}, {"--region", tt.env["REGION"]}, {"--stack-name", stack},
			} {
				i := slices.Index(deploy, flags[0])
				if i < 0 || !slices.Equal(deploy[i:min(i+len(flags), len(deploy))], flags) {
					t.Errorf("sam deploy %q lacks %q", deploy, flags)
				}
			}
			for _, a := range deploy {
				if strings.HasPrefix(a, "--guided") || a == "-g" || a == "--confirm-changeset" {
					t.Errorf("sam deploy %q has %s, which asks questions", deploy, a)
				}
			}
			i := slices.Index(deploy, "--parameter-overrides")
			if i < 0 {
				t.Fatalf("sam deploy %q has no --parameter-overrides", deploy)
			}
			got := map[string]string{}
			for _, a := range deploy[i+1:] {
				m := overrideArg.FindStringSubmatch(a)
				if m == nil {
					t.Errorf("override %q is not Key=\"value\" as SAM reads it", a)
					continue
				}
				if p, ok := params[m[1]]; !ok {
					t.Errorf("override %s names no parameter of template.yaml", m[1])
				} else if why := p.refuses(strings.Trim(m[2], `"`)); why != "" {
					t.Errorf("override %s: CloudFormation would refuse it: %s", m[1], why)
				}
				got[m[1]] = m[2]
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("override %s is %s, want %s", k, got[k], v)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("overrides %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSamconfigDeploysWithoutQuestions: samconfig.toml's deploy settings
// let a bare sam deploy run without a question whose Enter aborts: IAM
// capability given, SAM's own bucket, no changeset confirmation.
func TestSamconfigDeploysWithoutQuestions(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "samconfig.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// A flat reading of TOML is enough for this file: [section] lines and
	// key = value lines.
	settings := map[string]string{}
	section := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if ok {
				settings[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
	}
	for k, want := range map[string]string{
		"default.deploy.parameters.capabilities":            `"CAPABILITY_IAM"`,
		"default.deploy.parameters.resolve_s3":              "true",
		"default.deploy.parameters.confirm_changeset":       "false",
		"default.deploy.parameters.fail_on_empty_changeset": "false",
		"default.global.parameters.stack_name":              `"passreset"`,
	} {
		if settings[k] != want {
			t.Errorf("samconfig.toml: %s = %s, want %s", k, settings[k], want)
		}
	}
}
