// Command bench measures passreset's performance and writes the table to
// docs/performance.md: cold starts of the four functions' real bootstraps
// against two floors, binary sizes, AWS calls and DynamoDB capacity per
// flow, warm latency against the same calls made straight with the SDK,
// password hashing, a 32-client load on the dev server, the cost per
// million resets, and the Go benchmarks of the hot pure code. "make bench"
// runs it from the repository's root.
//
// Every figure is a median (or a quantile) over repeated runs, and every
// claim a ratio against a floor measured in the same run, interleaved with
// it: the machines this runs on are small and noisy. Nothing here is a
// test; nothing in "make test" asserts a time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"

	"github.com/passreset/passreset/pkg/emulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// results is everything one run measured.
type results struct {
	Date, Machine string
	Took          time.Duration

	ColdRounds int
	Cold       map[string][]time.Duration
	InitCalls  int64
	TraceSDK   []initShare
	TraceSDKT  initShare
	TraceFn    []initShare
	TraceFnT   initShare
	TraceBareT initShare
	TraceFnNam string

	Sizes      map[string]int64
	SizeShares []symbolShare
	SizeTotal  int64
	SizeOf     string

	Flows      flowResults
	HashBytes  uint64
	MemorySize int

	Load loadResult

	GoBench []goBench
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	rounds := fs.Int("cold", 30, "cold starts of each bootstrap")
	iterations := fs.Int("flows", 40, "`runs` of each flow for calls and latency")
	clients := fs.Int("clients", 32, "concurrent clients of the load")
	loadFor := fs.Duration("load", 20*time.Second, "how long the load runs")
	out := fs.String("out", "docs/performance.md", "the report whose table this run replaces")
	benchtime := fs.String("benchtime", "500ms", "go test -benchtime of the Go benchmarks")
	if err := fs.Parse(args); err != nil {
		return err
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return errors.New("run from the repository's root (make bench)")
	}
	began := time.Now()
	r := &results{Date: began.UTC().Format("2006-01-02 15:04 UTC"), Machine: machine(), ColdRounds: *rounds, MemorySize: templateMemory(root)}
	tmp, err := os.MkdirTemp("", "passreset-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	// 1 and 2: build the bootstraps for this host (cold starts) and for
	// arm64 (sizes), with the release flags.
	progress("building the bootstraps for %s and arm64 ...", runtime.GOARCH)
	all := append(append([]program{}, functions...), bareFloor, sdkFloor)
	host, err := buildAll(ctx, root, tmp, all, runtime.GOARCH, true)
	if err != nil {
		return err
	}
	arm, err := buildAll(ctx, root, tmp, all, "arm64", true)
	if err != nil {
		return err
	}
	r.Sizes = map[string]int64{}
	for _, p := range all {
		st, err := os.Stat(arm[p.Name])
		if err != nil {
			return err
		}
		r.Sizes[p.Name] = st.Size()
	}
	largest := functions[0]
	for _, p := range functions {
		if r.Sizes[p.Name] > r.Sizes[largest.Name] {
			largest = p
		}
	}
	r.SizeOf = largest.Name
	sym, err := buildAll(ctx, root, tmp, []program{largest}, "arm64", false)
	if err != nil {
		return err
	}
	if r.SizeShares, r.SizeTotal, err = packageSizes(ctx, sym[largest.Name]); err != nil {
		return err
	}

	progress("%d cold starts of each of %d bootstraps ...", *rounds, len(all))
	order := make([]string, 0, len(all))
	for _, p := range all {
		order = append(order, p.Name)
	}
	if r.Cold, r.InitCalls, err = coldStarts(ctx, host, order, *rounds); err != nil {
		return err
	}
	env := coldEnv("http://127.0.0.1:9")
	if r.TraceSDK, r.TraceSDKT, err = inittrace(ctx, host[sdkFloor.Name], env); err != nil {
		return err
	}
	if _, r.TraceBareT, err = inittrace(ctx, host[bareFloor.Name], env); err != nil {
		return err
	}
	r.TraceFnNam = "otp-validate"
	if r.TraceFn, r.TraceFnT, err = inittrace(ctx, host[r.TraceFnNam], env); err != nil {
		return err
	}

	// 3, 4 and 5: the flows on the emulators.
	progress("starting DynamoDB Local and the SES emulator ...")
	stack, err := emulator.Start(ctx, emulator.Options{RepoRoot: root})
	if err != nil {
		return err
	}
	defer stack.Stop()
	h, err := newHarness(ctx, stack)
	if err != nil {
		return err
	}
	progress("%d runs of each flow, each beside its floor ...", *iterations)
	if r.Flows, err = runFlows(ctx, h, *iterations); err != nil {
		return err
	}
	if r.HashBytes, err = hashBytes(); err != nil {
		return err
	}
	progress("Go benchmarks ...")
	if r.GoBench, err = runGoBench(ctx, root, stack, *benchtime); err != nil {
		return err
	}
	stack.Stop()

	// 6: the dev server under load.
	progress("the dev server under %d clients for %s ...", *clients, *loadFor)
	if r.Load, err = runLoad(ctx, root, *clients, *loadFor); err != nil {
		return err
	}

	r.Took = time.Since(began)
	table := render(r)
	fmt.Print(table)
	if *out != "" {
		path := *out
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if err := writeReport(path, table); err != nil {
			return err
		}
		progress("wrote %s", *out)
	}
	return nil
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}
