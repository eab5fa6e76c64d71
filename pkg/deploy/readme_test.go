package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/passreset/passreset/pkg/config"
)

// The README's "Deploying" section maps every environment variable the
// functions read to the template parameter that sets it. A row's second
// cell is the parameters, each in backticks, or one of these.
const (
	fixedByTemplate = "fixed by the template" // a resource of the stack, no parameter
	notDeployed     = "not set"               // local runs only (localOnly)
)

// A readmeRow is one row of that table: the variables of its first cell
// and the second cell.
type readmeRow struct {
	vars  []string
	cell  string
	line  int
	names []string // the backticked names of cell
}

var backticked = regexp.MustCompile("`([^`]+)`")

func readREADME(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// readmeVariables reads the table of the README's "Deploying" section
// whose header starts "| variable | template parameter |".
func readmeVariables(readme string) ([]readmeRow, error) {
	lines := strings.Split(readme, "\n")
	section, table := false, false
	var rows []readmeRow
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "## "):
			section = line == "## Deploying"
			table = false
		case !section:
		case strings.HasPrefix(line, "| variable | template parameter |"):
			table = true
		case table && strings.HasPrefix(line, "|---"):
		case table && strings.HasPrefix(line, "|"):
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if len(cells) < 2 {
				return nil, fmt.Errorf("README.md:%d: a row of the variables table needs two cells: %s", i+1, line)
			}
			r := readmeRow{cell: strings.TrimSpace(cells[1]), line: i + 1}
			for _, m := range backticked.FindAllStringSubmatch(cells[0], -1) {
				r.vars = append(r.vars, m[1])
			}
			for _, m := range backticked.FindAllStringSubmatch(r.cell, -1) {
				r.names = append(r.names, m[1])
			}
			rows = append(rows, r)
		default:
			table = false
		}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf(`README.md: no table headed "| variable | template parameter |" in "## Deploying"`)
	}
	return rows, nil
}

// templateEnvironment is each variable the template sets on a function
// (Globals and each function's own), with the parameters its value can
// take, read from template.yaml as written (intrinsics unresolved): what
// the value Refs or !Subs, in either branch of an !If. A variable set
// differently on two functions gets the parameters of both.
func templateEnvironment(t *testing.T) (map[string][]string, map[string]bool) {
	t.Helper()
	doc, err := intrinsics.ProcessYAML(readTemplate(t), &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]any
		Globals    struct{ Function map[string]any }
		Resources  map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(doc, &tpl); err != nil {
		t.Fatal(err)
	}
	params := map[string]bool{}
	for name := range tpl.Parameters {
		params[name] = true
	}
	envs := []any{tpl.Globals.Function["Environment"]}
	for _, r := range tpl.Resources {
		if r.Type == "AWS::Serverless::Function" {
			envs = append(envs, r.Properties["Environment"])
		}
	}
	out := map[string][]string{}
	for _, env := range envs {
		vars, _ := asMap(env)["Variables"].(map[string]any)
		for name, value := range vars {
			refs := out[name]
			if refs == nil {
				refs = []string{}
			}
			for _, p := range parameterRefs(value, params) {
				if !slices.Contains(refs, p) {
					refs = append(refs, p)
				}
			}
			slices.Sort(refs)
			out[name] = refs
		}
	}
	return out, params
}

var subReference = regexp.MustCompile(`\$\{([^}!.]+)\}`)

// parameterRefs is the parameters an unresolved value can take: those it
// Refs or !Subs, in both branches of an !If (an !If's condition only
// chooses).
func parameterRefs(v any, params map[string]bool) []string {
	var refs []string
	add := func(name string) {
		if params[name] && !slices.Contains(refs, name) {
			refs = append(refs, name)
		}
	}
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for fn, arg := range v {
				switch fn {
				case "Ref":
					add(fmt.Sprint(arg))
				case "Fn::Sub":
					text := arg
					if list, ok := arg.([]any); ok && len(list) > 0 {
						text = list[0]
						walk(list[1:])
					}
					s, _ := text.(string)
					for _, m := range subReference.FindAllStringSubmatch(s, -1) {
						add(m[1])
					}
				case "Fn::If":
					if list, ok := arg.([]any); ok && len(list) == 3 {
						walk(list[1])
						walk(list[2])
					}
				default:
					walk(arg)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(v)
	slices.Sort(refs)
	return refs
}

// TestREADMEVariables keeps README.md's table of variables and parameters
// true both ways: every variable pkg/config reads (config.Variables) has a
// row, and every row names such a variable, once; a variable the template
// sets names exactly the parameters its value takes, or says it is fixed by
// the template when it takes none; one it does not set (HMAC_KEY) says so;
// and every parameter named is one of template.yaml.
func TestREADMEVariables(t *testing.T) {
	env, params := templateEnvironment(t)
	for _, p := range readmeVariableProblems(readREADME(t), env, params) {
		t.Error(p)
	}
}

// TestREADMEVariablesCatchBreakage: the check above fails on a README
// whose table is wrong in each way it looks for.
func TestREADMEVariablesCatchBreakage(t *testing.T) {
	good := readREADME(t)
	env, params := templateEnvironment(t)
	for _, tt := range []struct{ name, old, new, want string }{
		{"row missing", "| `OTP_TTL` | `OtpTtl` | |\n", "", "OTP_TTL (config.Variables) has no row"},
		{"wrong parameter", "| `OTP_TTL` | `OtpTtl` |", "| `OTP_TTL` | `LinkTtl` |", `OTP_TTL: the cell names ["LinkTtl"]; the template sets it from ["OtpTtl"]`},
		{"a parameter short", "| `RESET_URL` | `ResetUrl`, `DomainName` |", "| `RESET_URL` | `ResetUrl` |", "RESET_URL: the cell names"},
		{"no such variable", "| `OTP_TTL` | `OtpTtl` | |\n", "| `OTP_TTL` | `OtpTtl` | |\n| `OTP_TIMEOUT` | `OtpTtl` | |\n", "OTP_TIMEOUT is not a variable pkg/config reads"},
		{"no such parameter", "| `LINK_TTL` | `LinkTtl` |", "| `LINK_TTL` | `LinkTTL` |", "LinkTTL is not a parameter of template.yaml"},
		{"resource as parameter", "| `TOKENS_TABLE` | fixed by the template |", "| `TOKENS_TABLE` | `TokensTable` |", `TOKENS_TABLE: the template sets it from no parameter`},
		{"local variable as deployed", "| `HMAC_KEY`, `HMAC_KEY_ID` | not set |", "| `HMAC_KEY`, `HMAC_KEY_ID` | fixed by the template |", "HMAC_KEY: the template does not set it"},
		{"twice", "| `APP_NAME` | `AppName` | |\n", "| `APP_NAME` | `AppName` | |\n| `APP_NAME` | `AppName` | |\n", "APP_NAME has a row already"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("README.md no longer contains %q; update this case", tt.old)
			}
			problems := readmeVariableProblems(strings.Replace(good, tt.old, tt.new, 1), env, params)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("got problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

// readmeVariableProblems reports every way the README's variables table
// differs from config.Variables and the template's environment.
func readmeVariableProblems(readme string, env map[string][]string, params map[string]bool) []string {
	rows, err := readmeVariables(readme)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	read := map[string]bool{}
	for _, v := range config.Variables {
		read[v.Name] = true
	}
	seen := map[string]int{} // variable -> README line
	for _, r := range rows {
		if len(r.vars) == 0 {
			report("README.md:%d: the row names no variable in backticks", r.line)
		}
		for _, name := range r.names {
			if !params[name] {
				report("README.md:%d: %s is not a parameter of template.yaml", r.line, name)
			}
		}
		for _, v := range r.vars {
			if l, dup := seen[v]; dup {
				report("README.md:%d: %s has a row already, at line %d", r.line, v, l)
			}
			seen[v] = r.line
			if !read[v] {
				report("README.md:%d: %s is not a variable pkg/config reads (config.Variables)", r.line, v)
				continue
			}
			refs, set := env[v]
			switch {
			case !set && r.cell != notDeployed:
				report("README.md:%d: %s: the template does not set it, so the parameter cell must say %q, not %q", r.line, v, notDeployed, r.cell)
			case set && len(refs) == 0 && r.cell != fixedByTemplate:
				report("README.md:%d: %s: the template sets it from no parameter, so the cell must say %q, not %q", r.line, v, fixedByTemplate, r.cell)
			case set && len(refs) > 0 && !slices.Equal(sorted(r.names), refs):
				report("README.md:%d: %s: the cell names %q; the template sets it from %q", r.line, v, r.names, refs)
			case set && len(refs) > 0 && strings.TrimSpace(backticked.ReplaceAllString(strings.ReplaceAll(r.cell, ",", ""), "")) != "":
				report("README.md:%d: %s: the cell %q holds more than parameter names; notes go in the third cell", r.line, v, r.cell)
			}
		}
	}
	for _, v := range config.Variables {
		if _, ok := seen[v.Name]; !ok {
			report("README.md: %s (config.Variables) has no row in the variables table of \"Deploying\"", v.Name)
		}
	}
	for _, name := range sortedKeys(env) {
		if _, ok := seen[name]; !ok {
			report("README.md: %s, which the template sets, has no row in the variables table", name)
		}
	}
	return problems
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
