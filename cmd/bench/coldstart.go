package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/passreset/passreset/pkg/runtimeapi"
)

// coldEnv is a function's environment as template.yaml sets it in AWS:
// the HMAC key in Secrets Manager, read lazily, and credentials in the
// environment as Lambda passes the role's. Every AWS endpoint points at
// sink, which counts what reaches it: a cold start must make no call.
func coldEnv(sink string) []string {
	return []string{
		"MAIL_FROM=no-reply@passreset.bench",
		"TOKENS_TABLE=passreset-tokens",
		"USERS_TABLE=passreset-users",
		"RESET_URL=https://app.passreset.bench/reset?token={token}",
		"HMAC_KEY_SECRET_ARN=arn:aws:secretsmanager:us-east-1:000000000000:secret:passreset-hmac-AbCdEf",
		"AWS_ACCESS_KEY_ID=AKIDBENCH",
		"AWS_SECRET_ACCESS_KEY=bench",
		"AWS_SESSION_TOKEN=bench",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512",
		"AWS_ENDPOINT_URL=" + sink,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// coldStarts starts each program's host bootstrap rounds times under the
// local Runtime API and returns each one's init times (exec to the first
// GET /runtime/invocation/next). Rounds interleave the programs, rotating
// their order, so the machine's drift falls on all of them alike. It also
// returns how many requests reached the AWS endpoints during all of it.
func coldStarts(ctx context.Context, paths map[string]string, order []string, rounds int) (map[string][]time.Duration, int64, error) {
	var reached atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		http.Error(w, "no AWS calls at init", http.StatusForbidden)
	}))
	defer sink.Close()
	env := coldEnv(sink.URL)
	times := map[string][]time.Duration{}
	for r := range rounds {
		for i := range order {
			name := order[(i+r)%len(order)]
			d, err := coldStart(ctx, paths[name], env)
			if err != nil {
				return nil, 0, fmt.Errorf("cold start of %s: %w", name, err)
			}
			times[name] = append(times[name], d)
		}
	}
	return times, reached.Load(), nil
}

func coldStart(ctx context.Context, path string, env []string) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := runtimeapi.Start(ctx, runtimeapi.Function{Path: path, Env: env})
	if err != nil {
		return 0, err
	}
	d, err := p.WaitReady(ctx)
	if serr := p.Stop(); err == nil && serr != nil {
		err = serr
	}
	return d, err
}

// initShare is one package's init as GODEBUG=inittrace=1 reports it.
type initShare struct {
	Pkg    string
	Clock  float64 // ms
	Bytes  int64
	Allocs int64
}

var inittraceLine = regexp.MustCompile(`^init (\S+) @[0-9.]+ ms, ([0-9.]+) ms clock, ([0-9]+) bytes, ([0-9]+) allocs`)

// inittrace runs path once with GODEBUG=inittrace=1 and returns its
// packages' init costs, the most expensive first, and their sum.
func inittrace(ctx context.Context, path string, env []string) ([]initShare, initShare, error) {
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	p, err := runtimeapi.Start(ctx, runtimeapi.Function{Path: path, Env: append(slices.Clone(env), "GODEBUG=inittrace=1"), Stderr: &stderr})
	if err != nil {
		return nil, initShare{}, err
	}
	if _, err := p.WaitReady(ctx); err != nil {
		p.Stop()
		return nil, initShare{}, err
	}
	if err := p.Stop(); err != nil {
		return nil, initShare{}, err
	}
	var shares []initShare
	var total initShare
	sc := bufio.NewScanner(&stderr)
	for sc.Scan() {
		m := inittraceLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		clock, _ := strconv.ParseFloat(m[2], 64)
		b, _ := strconv.ParseInt(m[3], 10, 64)
		a, _ := strconv.ParseInt(m[4], 10, 64)
		shares = append(shares, initShare{m[1], clock, b, a})
		total.Clock += clock
		total.Bytes += b
		total.Allocs += a
	}
	slices.SortFunc(shares, func(a, b initShare) int {
		switch {
		case a.Clock > b.Clock:
			return -1
		case a.Clock < b.Clock:
			return 1
		}
		return 0
	})
	return shares, total, nil
}
