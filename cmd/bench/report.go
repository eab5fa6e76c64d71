package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// The generated part of docs/performance.md lies between these markers;
// the prose around it is written by hand and kept.
const (
	beginMarker = "<!-- bench:begin (make bench writes from here to bench:end) -->"
	endMarker   = "<!-- bench:end -->"
)

// writeReport replaces the generated part of the report at path with table,
// or creates the report with only the table.
func writeReport(path, table string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	block := beginMarker + "\n" + table + endMarker + "\n"
	s := string(old)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + strings.TrimPrefix(s[j+len(endMarker):], "\n")
	case s == "":
		s = "# Performance\n\n" + block
	default:
		s = strings.TrimRight(s, "\n") + "\n\n" + block
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

// Prices, us-east-1 list prices as found on 2026-05 (see the sources in
// docs/performance.md).
const (
	priceLambdaGBs     = 0.0000133334 // arm64, $ per GB-second, first 7.5 billion GB-s a month
	priceLambdaRequest = 0.20 / 1e6   // $ per request
	priceWRU           = 0.625 / 1e6  // DynamoDB on-demand, $ per write request unit
	priceRRU           = 0.125 / 1e6  // DynamoDB on-demand, $ per read request unit
	priceMail          = 0.10 / 1000  // SES outbound, $ per mail
	priceHTTPAPI       = 1.00 / 1e6   // API Gateway HTTP API, $ per request, first 300 million a month
	// fullVCPU is the memory at which Lambda gives a function one whole
	// vCPU; below it the CPU share is memory/fullVCPU.
	fullVCPU = 1769
)

func render(r *results) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("Run of %s on %s; the whole run took %s.\n\n", r.Date, r.Machine, r.Took.Round(time.Second))

	// 1. Cold start.
	bare, sdk := median(r.Cold[bareFloor.Name]), median(r.Cold[sdkFloor.Name])
	p("### 1. Cold start (init: exec → first GET /runtime/invocation/next), %d interleaved cold starts each, host build\n\n", r.ColdRounds)
	p("| bootstrap | median ms | p90 ms | ÷ SDK floor | ÷ bare floor | goal |\n|---|---:|---:|---:|---:|---|\n")
	for _, name := range append(names(functions), sdkFloor.Name, bareFloor.Name) {
		ds := r.Cold[name]
		goal := ""
		if !strings.HasPrefix(name, "floor") {
			ratio := float64(median(ds)) / float64(sdk)
			goal = metOrNot(ratio <= 1.1, "≤ 1.1× SDK floor")
		}
		p("| %s | %.1f | %.1f | %.2f | %.2f | %s |\n", name, ms(median(ds)), ms(quantile(ds, 0.9)), float64(median(ds))/float64(sdk), float64(median(ds))/float64(bare), goal)
	}
	p("\nAWS requests that reached the endpoints during all %d cold starts (HMAC key in Secrets Manager, as deployed): **%d** (goal: 0).\n\n", r.ColdRounds*len(r.Cold), r.InitCalls)
	p("`GODEBUG=inittrace=1`, one start each: package init sums to %.1f ms / %s / %d allocs for the bare floor, %.1f ms / %s / %d allocs for the SDK floor, %.1f ms / %s / %d allocs for %s. Largest in the SDK floor:\n\n",
		r.TraceBareT.Clock, mib(r.TraceBareT.Bytes), r.TraceBareT.Allocs, r.TraceSDKT.Clock, mib(r.TraceSDKT.Bytes), r.TraceSDKT.Allocs, r.TraceFnT.Clock, mib(r.TraceFnT.Bytes), r.TraceFnT.Allocs, r.TraceFnNam)
	p("| package (SDK floor) | init ms | bytes | allocs |\n|---|---:|---:|---:|\n")
	for _, s := range top(r.TraceSDK, 8) {
		p("| %s | %.3f | %d | %d |\n", s.Pkg, s.Clock, s.Bytes, s.Allocs)
	}
	p("\nLargest in %s beyond the floor's packages:\n\n| package | init ms | bytes | allocs |\n|---|---:|---:|---:|\n", r.TraceFnNam)
	inFloor := map[string]bool{}
	for _, s := range r.TraceSDK {
		inFloor[s.Pkg] = true
	}
	var own []initShare
	for _, s := range r.TraceFn {
		if !inFloor[s.Pkg] {
			own = append(own, s)
		}
	}
	for _, s := range top(own, 6) {
		p("| %s | %.3f | %d | %d |\n", s.Pkg, s.Clock, s.Bytes, s.Allocs)
	}

	// 2. Size.
	p("\n### 2. Size (linux/arm64, release flags, stripped)\n\n| bootstrap | MB | goal |\n|---|---:|---|\n")
	for _, name := range append(names(functions), sdkFloor.Name, bareFloor.Name) {
		goal := ""
		if !strings.HasPrefix(name, "floor") {
			goal = metOrNot(r.Sizes[name] <= 15e6, "≤ 15 MB")
		}
		p("| %s | %.2f | %s |\n", name, float64(r.Sizes[name])/1e6, goal)
	}
	p("\nWhat %s is made of (code and read-only symbols of an unstripped build, %.1f MB in all):\n\n| part | MB | share |\n|---|---:|---:|\n", r.SizeOf, float64(r.SizeTotal)/1e6)
	for _, s := range r.SizeShares[:min(8, len(r.SizeShares))] {
		p("| %s | %.2f | %.0f%% |\n", s.Pkg, float64(s.Bytes)/1e6, 100*float64(s.Bytes)/float64(r.SizeTotal))
	}

	// 3. Calls and capacity.
	p("\n### 3. AWS calls per flow, counted at the SDK client, with the capacity DynamoDB Local reports (ReturnConsumedCapacity TOTAL)\n\n")
	p("| flow | calls | DynamoDB | SES | sequence [capacity] | RRU | WRU | goal |\n|---|---:|---:|---:|---|---:|---:|---|\n")
	for _, name := range flowOrder {
		runs := r.Flows.runs[name]
		calls := runs[0].calls
		variants := map[string]int{}
		for _, s := range runs {
			variants[sequence(s.calls)]++
		}
		seq := annotated(calls)
		if len(variants) > 1 {
			seq += fmt.Sprintf(" (%d sequences over %d runs)", len(variants), len(runs))
		}
		rcu, wcu, _ := capacity(calls)
		p("| %s | %d | %d | %d | %s | %s | %s | %s |\n", name, len(calls), countService(calls, "DynamoDB."), countService(calls, "SESv2."), seq, fmtUnits(rcu), fmtUnits(wcu), callGoal(name, calls, r))
	}

	// 4. Latency.
	hash, verify := median(r.Flows.hash), median(r.Flows.verify)
	p("\n### 4. Warm latency on the local stack, %d runs of each flow, in-process handler; floor = the same calls made straight with the SDK right after\n\n", len(r.Flows.runs[flowRequestCode]))
	p("| flow | p50 ms | p99 ms | floor p50 | floor p99 | hashing | ratio p50 | ratio p99 | goal |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, name := range flowOrder {
		runs := r.Flows.runs[name]
		var took, floor []time.Duration
		var ratios []float64
		hashing := time.Duration(0)
		if name == flowRightGuess || name == flowResetLink {
			// The reset compares with the current password (one
			// verify) and hashes the new one.
			hashing = hash + verify
		}
		for _, s := range runs {
			took = append(took, s.took)
			floor = append(floor, s.floor)
			ratios = append(ratios, float64(s.took)/float64(s.floor+hashing))
		}
		r50 := float64(median(took)) / float64(median(floor)+hashing)
		r99 := float64(quantile(took, .99)) / float64(quantile(floor, .99)+hashing)
		h := "—"
		if hashing > 0 {
			h = fmt.Sprintf("%.1f", ms(hashing))
		}
		p("| %s | %.1f | %.1f | %.1f | %.1f | %s | %.2f | %.2f | %s |\n", name, ms(median(took)), ms(quantile(took, .99)), ms(median(floor)), ms(quantile(floor, .99)), h, r50, r99, metOrNot(r50 <= 1.2, "p50 ≤ 1.2× floor(+hashing)"))
	}
	p("\nRatio = flow ÷ (floor + hashing), hashing being one argon2id verify of the current password plus one hash of the new one, timed alone in the same run.\n")

	// 5. Hashing.
	p("\n### 5. Password hashing (argon2id m=19456 KiB, t=2, p=1)\n\n| | p50 ms | p90 ms |\n|---|---:|---:|\n")
	p("| hash a new password | %.1f | %.1f |\n| verify the current one | %.1f | %.1f |\n", ms(hash), ms(quantile(r.Flows.hash, .9)), ms(verify), ms(quantile(r.Flows.verify, .9)))
	p("\nOne hash allocates %s. The template sets MemorySize %d MB: %.0f%% of a vCPU (1769 MB = 1 vCPU), so a hash there takes about %.0f ms if this host's core is like a Graviton core. A wrong guess takes %.1f ms p50, less than one hash: it never pays for one.\n",
		mib(int64(r.HashBytes)), r.MemorySize, 100*float64(r.MemorySize)/fullVCPU, ms(hash)*fullVCPU/float64(r.MemorySize), ms(median(samples(r.Flows.runs[flowWrongGuess]))))

	// 6. Load.
	l := r.Load
	p("\n### 6. Load: the dev server on 127.0.0.1, %d clients for %s, mixed code and link flows on fresh accounts\n\n", l.Clients, l.Duration.Round(100*time.Millisecond))
	p("| requests | req/s | completed resets | resets/s | errors | p50 ms | p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|\n")
	secs := l.Duration.Seconds()
	p("| %d | %.1f | %d | %.1f | %d %s | %.1f | %.1f |\n", l.Requests, float64(l.Requests)/secs, l.Resets, float64(l.Resets)/secs, l.Errors, metOrNot(l.Errors == 0, "none"), ms(median(l.Latency)), ms(quantile(l.Latency, .99)))
	for k, n := range l.ErrorKinds {
		p("\n- error ×%d: %s", n, k)
	}
	p("\nAfter the load (MAX_SENDS_PER_HOUR=3, MAX_ATTEMPTS=5, IP_LIMIT raised so 127.0.0.1 is not limited):\n\n- sends to a fresh account: %s\n- guesses at a fresh code: %s\n- 127.0.0.1's send counter: %s\n", l.Sends, l.Attempts, l.IPCount)

	// 7. Cost.
	p("\n### 7. Cost per million completed code resets (request a code + right guess), us-east-1 list prices\n\n")
	req, right := r.Flows.runs[flowRequestCode], r.Flows.runs[flowRightGuess]
	dReq, dRight := median(samples(req)), median(samples(right))
	hashing := hash + verify
	dRight512 := dRight - hashing + time.Duration(float64(hashing)*fullVCPU/float64(r.MemorySize))
	gb := float64(r.MemorySize) / 1024
	rr1, wr1, _ := capacity(req[0].calls)
	rr2, wr2, _ := capacity(right[0].calls)
	lambdaReq := 2 * 1e6 * priceLambdaRequest
	lambdaDur := (dReq + dRight).Seconds() * gb * 1e6 * priceLambdaGBs
	lambdaDur512 := (dReq + dRight512).Seconds() * gb * 1e6 * priceLambdaGBs
	dyn := (rr1+rr2)*1e6*priceRRU + (wr1+wr2)*1e6*priceWRU
	api := 2 * 1e6 * priceHTTPAPI
	mails := float64(countService(req[0].calls, "SESv2.") + countService(right[0].calls, "SESv2."))
	mail := mails * 1e6 * priceMail
	rest := lambdaReq + lambdaDur512 + dyn + api
	p("| item | arithmetic | $ |\n|---|---|---:|\n")
	p("| Lambda requests | 2 invocations × 1M × $0.20/M | %.2f |\n", lambdaReq)
	p("| Lambda duration, as measured here | (%.1f + %.1f) ms × %.3f GB × 1M × $%.10f/GB-s | %.2f |\n", ms(dReq), ms(dRight), gb, priceLambdaGBs, lambdaDur)
	p("| Lambda duration, hashing scaled to %d MB's CPU share | (%.1f + %.1f) ms × %.3f GB × 1M × $%.10f/GB-s | %.2f |\n", r.MemorySize, ms(dReq), ms(dRight512), gb, priceLambdaGBs, lambdaDur512)
	p("| DynamoDB on-demand | (%s + %s) RRU × $0.125/M + (%s + %s) WRU × $0.625/M, × 1M | %.2f |\n", fmtUnits(rr1), fmtUnits(rr2), fmtUnits(wr1), fmtUnits(wr2), dyn)
	p("| HTTP API | 2 requests × 1M × $1.00/M | %.2f |\n", api)
	p("| **all but mail** (scaled duration) | | **%.2f** |\n", rest)
	p("| **SES mail**, apart | %.0f mails (code + notice) × 1M × $0.10/1000 | **%.2f** |\n", mails, mail)
	p("| total | | %.2f (mail %.0f%%) |\n", rest+mail, 100*mail/(rest+mail))

	// Go benchmarks.
	p("\n### Go benchmarks of the hot pure code (`go test -bench . -benchmem`)\n\n| package | benchmark | ns/op | B/op | allocs/op |\n|---|---|---:|---:|---:|\n")
	for _, g := range r.GoBench {
		p("| %s | %s | %s | %s | %s |\n", g.Pkg, g.Name, g.NsOp, g.BytesOp, g.AllocOp)
	}
	return b.String()
}

func names(ps []program) []string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	return n
}

func top(s []initShare, n int) []initShare { return s[:min(n, len(s))] }

func samples(runs []flowSample) []time.Duration {
	var d []time.Duration
	for _, r := range runs {
		d = append(d, r.took)
	}
	return d
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func metOrNot(ok bool, goal string) string {
	if ok {
		return "met (" + goal + ")"
	}
	return "**not met** (" + goal + ")"
}

// annotated is the sequence with each DynamoDB call's capacity.
func annotated(cs []call) string {
	var parts []string
	for _, c := range cs {
		s := shortOp(c.Op)
		switch {
		case c.Failed:
			s += "✗"
		case c.Reported && c.RCU > 0:
			s += "[" + fmtUnits(c.RCU) + "R]"
		case c.Reported:
			s += "[" + fmtUnits(c.WCU) + "W]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " → ")
}

func callGoal(name string, calls []call, r *results) string {
	n := len(calls)
	switch name {
	case flowRequestCode, flowRequestAgain, flowRequestLink:
		return metOrNot(n <= 4, "≤ 4 with the mail")
	case flowWrongGuess:
		// The IP, the name and the account's own budget, each counted
		// before the compare (docs/contract.md: the budget is the
		// account's across its names).
		noHash := median(samples(r.Flows.runs[name])) < median(r.Flows.hash)
		return metOrNot(n <= 3 && noHash, "≤ 3, no hash")
	case flowRightGuess:
		// A wrong guess's three, the account read by its key, the
		// transaction and the notice.
		return metOrNot(n <= 6, "≤ 6 with the notice")
	default:
		return metOrNot(n <= 5, "≤ 5 with the notice")
	}
}
