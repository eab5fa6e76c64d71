package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// program is a bootstrap the bench builds: one of the four functions, or
// one of the floors.
type program struct {
	Name string // "otp-create", "floor: bare"
	Pkg  string // "./functions/otp-create"
}

var functions = []program{
	{"otp-create", "./functions/otp-create"},
	{"otp-validate", "./functions/otp-validate"},
	{"link-request", "./functions/link-request"},
	{"password-reset", "./functions/password-reset"},
}

var (
	bareFloor = program{"floor: bare", "./cmd/bench/floors/bare"}
	sdkFloor  = program{"floor: SDK", "./cmd/bench/floors/sdk"}
)

// buildAll builds ps as the Makefile's lambda-build does (static,
// lambda.norpc, -trimpath, stripped) for goarch, in one go build so the
// compiler works on them in parallel, into dir/goarch, and returns each
// one's path by name. stripped false keeps the symbols, for seeing what
// the size is made of.
func buildAll(ctx context.Context, root, dir string, ps []program, goarch string, stripped bool) (map[string]string, error) {
	sub := goarch
	ldflags := "-s -w"
	if !stripped {
		sub, ldflags = goarch+"-symbols", ""
	}
	out := filepath.Join(dir, sub) + string(filepath.Separator)
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", ldflags, "-o", out}
	paths := map[string]string{}
	for _, p := range ps {
		args = append(args, p.Pkg)
		paths[p.Name] = filepath.Join(out, filepath.Base(p.Pkg))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("build for %s: %w\n%s", goarch, err, stderr.String())
	}
	return paths, nil
}

func hostArch() string { return runtime.GOARCH }

// symbolShare is one package's part of a binary, from its symbol sizes.
type symbolShare struct {
	Pkg   string
	Bytes int64
}

// packageSizes adds up the sizes `go tool nm -size` gives an unstripped
// binary's code and read-only symbols, by the package (or module) they belong to, largest
// first. Symbols of no package (runtime tables, type data) are "(runtime
// and type data)". The rest of the file (pclntab, DWARF in an unstripped
// build, section padding) is not attributed.
func packageSizes(ctx context.Context, bin string) ([]symbolShare, int64, error) {
	out, err := exec.CommandContext(ctx, "go", "tool", "nm", "-size", bin).Output()
	if err != nil {
		return nil, 0, fmt.Errorf("go tool nm %s: %w", bin, err)
	}
	sums := map[string]int64{}
	var total int64
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		size, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		// Code and read-only data only: a data symbol may be in .bss,
		// which takes no room in the file (fips140's 32 MB DRBG buffer).
		if t := f[2]; t != "T" && t != "t" && t != "R" && t != "r" {
			continue
		}
		total += size
		sums[group(strings.Join(f[3:], " "))] += size
	}
	var shares []symbolShare
	for k, v := range sums {
		shares = append(shares, symbolShare{k, v})
	}
	slices.SortFunc(shares, func(a, b symbolShare) int { return int(b.Bytes - a.Bytes) })
	return shares, total, nil
}

// group names the part of the dependency tree a symbol belongs to: the
// AWS SDK's service packages one by one, the rest by module.
func group(sym string) string {
	for _, p := range []string{"type:", "go:", "runtime.", "$f64", "$f32"} {
		if strings.HasPrefix(sym, p) {
			return "(runtime and type data)"
		}
	}
	sym = strings.TrimPrefix(sym, "*")
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return "(other)"
	}
	pkg := sym[:slash+1+dot]
	switch {
	case strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/"):
		parts := strings.Split(pkg, "/")
		return "aws-sdk-go-v2/service/" + parts[4]
	case strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2"):
		return "aws-sdk-go-v2 (core, config, credentials)"
	case strings.HasPrefix(pkg, "github.com/aws/smithy-go"):
		return "smithy-go"
	case strings.HasPrefix(pkg, "github.com/passreset/"):
		return "passreset"
	case strings.HasPrefix(pkg, "github.com/aws/aws-lambda-go"):
		return "aws-lambda-go"
	case strings.HasPrefix(pkg, "golang.org/x/"):
		return "golang.org/x"
	case !strings.Contains(pkg, "."):
		return "Go standard library"
	}
	return pkg
}
