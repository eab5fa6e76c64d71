package gateway

import (
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Each function's bootstrap links only its own routes' code: no other
// function's handlers, no page unless it serves one, no template package,
// and the Secrets Manager client only if its flows hash with the key.
// Built with the Makefile's tags, read with go list and go tool nm.
func TestEachBootstrapLinksOnlyItsOwnRoutes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the four bootstraps")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	functions := Functions()
	symbols := make([]map[string]bool, len(functions))
	deps := make([][]string, len(functions))
	var wg sync.WaitGroup
	for i, f := range functions {
		wg.Go(func() {
			pkg := "./functions/" + f.Name
			bin := filepath.Join(t.TempDir(), f.Name)
			if out, err := goCmd(root, "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, pkg); err != nil {
				t.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
			out, err := goCmd(root, "tool", "nm", bin)
			if err != nil {
				t.Errorf("go tool nm %s: %v", f.Name, err)
				return
			}
			symbols[i] = map[string]bool{}
			for _, line := range strings.Split(out, "\n") {
				if fields := strings.Fields(line); len(fields) >= 3 {
					symbols[i][strings.Join(fields[2:], " ")] = true
				}
			}
			out, err = goCmd(root, "list", "-tags", "lambda.norpc", "-deps", pkg)
			if err != nil {
				t.Errorf("go list %s: %v", pkg, err)
				return
			}
			deps[i] = strings.Fields(out)
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, f := range functions {
		for _, template := range []string{"text/template", "html/template"} {
			if slices.Contains(deps[i], template) {
				t.Errorf("%s imports %s", f.Name, template)
			}
		}
		const secrets = "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
		if got := slices.Contains(deps[i], secrets); got != f.HashesWithKey {
			t.Errorf("%s imports the Secrets Manager client: %v, want %v (HashesWithKey)", f.Name, got, f.HashesWithKey)
		}
		servesPage := false
		for j, other := range functions {
			for _, r := range other.Routes {
				for _, fn := range []any{r.serve, r.page} {
					if reflect.ValueOf(fn).IsNil() {
						continue
					}
					name := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()).Name()
					if got, want := symbols[i][name], i == j; got != want {
						t.Errorf("%s links %s (%s): %v, want %v", f.Name, name, r.Key, got, want)
					}
				}
				servesPage = servesPage || (i == j && r.page != nil)
			}
		}
		render := "github.com/passreset/passreset/pkg/gateway.(*Handler).render"
		if got := symbols[i][render]; got != servesPage {
			t.Errorf("%s links the page's renderer: %v, want %v", f.Name, got, servesPage)
		}
	}
}

func goCmd(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
