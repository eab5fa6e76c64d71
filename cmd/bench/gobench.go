package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"

	"github.com/passreset/passreset/pkg/emulator"
)

// goBench is one line of go test -bench output.
type goBench struct {
	Pkg, Name              string
	NsOp, BytesOp, AllocOp string
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op(?:\s+([0-9.]+) B/op\s+([0-9]+) allocs/op)?`)

// runGoBench runs the Go benchmarks of the hot pure code. The test binaries
// whose TestMain wants the emulators get the running stack instead of
// starting another.
func runGoBench(ctx context.Context, root string, stack *emulator.Stack, benchtime string) ([]goBench, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime,
		"./pkg/gateway", "./pkg/reset", "./pkg/password")
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		emulator.EnvDynamoDBEndpoint+"="+stack.DynamoDBEndpoint,
		emulator.EnvSESEndpoint+"="+stack.SESEndpoint)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench: %w\n%s%s", err, out.String(), stderr.String())
	}
	var res []goBench
	pkg := ""
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/passreset/passreset/")
		}
		if m := benchLine.FindStringSubmatch(line); m != nil {
			res = append(res, goBench{pkg, m[1], m[2], m[3], m[4]})
		}
	}
	return res, nil
}
