package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passreset/passreset/pkg/devserver"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// loadSettings are the dev server's limits under load: the per-IP limit
// out of the way (every client is 127.0.0.1, as one IP) so load measures
// throughput, and no interval between sends so the check afterwards can
// spend an account's hourly sends at once.
var loadSettings = map[string]string{
	"IP_LIMIT":           "1000000",
	"IP_WINDOW":          "1h",
	"MIN_SEND_INTERVAL":  "0s",
	"MAX_SENDS_PER_HOUR": "3",
	"MAX_ATTEMPTS":       "5",
}

// loadResult is what the load measured and what the checks afterwards
// found.
type loadResult struct {
	Clients    int
	Duration   time.Duration
	Requests   int64
	Resets     int64 // completed resets (code and link)
	Errors     int64
	ErrorKinds map[string]int64
	Latency    []time.Duration // of every request
	// Checks after the load, each "ok" or what was wrong.
	Sends, Attempts, IPCount string
}

// runLoad starts the dev server in this process on 127.0.0.1 with free
// ports, and has clients clients run mixed flows on fresh accounts for d:
// a code flow (request, wrong guess, right guess) or a link flow (request,
// reset), alternately. Then it checks the limits are still exact.
func runLoad(ctx context.Context, root string, clients int, d time.Duration) (loadResult, error) {
	res := loadResult{Clients: clients, ErrorKinds: map[string]int64{}}
	state, err := os.MkdirTemp("", "passreset-bench-dev-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(state)
	dev, err := devserver.Start(ctx, devserver.Options{
		Root: root, StateDir: state,
		Getenv: func(k string) string { return loadSettings[k] },
	})
	if err != nil {
		return res, err
	}
	defer dev.Stop(context.Background())
	api := strings.Replace(dev.API, "localhost", "127.0.0.1", 1)

	c := devserver.Clients(dev.DynamoDB, dev.SES)
	store := dynamo.New(c.DynamoDB, dev.TokensTable, dynamo.DefaultUsersTable(dev.UsersTable))
	hasher, err := password.NewHasher(password.Argon2id)
	if err != nil {
		return res, err
	}
	oldHash, err := hasher.Hash(oldPassword)
	if err != nil {
		return res, err
	}
	addAccount := func() (string, error) {
		id := randomHex(6)
		email := "load-" + id + "@example.test"
		return email, store.PutAccount(ctx, dynamo.NewAccount{ID: "l-" + id, Email: email, Username: "load" + id, PasswordHash: oldHash, Verified: true, Enabled: true})
	}

	httpc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	var mu sync.Mutex
	var sendRequests atomic.Int64
	post := func(path, body string, want int) error {
		start := time.Now()
		resp, err := httpc.Post(api+path, "application/json", strings.NewReader(body))
		took := time.Since(start)
		mu.Lock()
		res.Requests++
		res.Latency = append(res.Latency, took)
		mu.Unlock()
		if err != nil {
			return fmt.Errorf("transport: %w", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			return fmt.Errorf("%s: got %d, want %d", path, resp.StatusCode, want)
		}
		return nil
	}
	fail := func(err error) {
		mu.Lock()
		res.Errors++
		k := err.Error()
		if i := strings.Index(k, " (wrong"); i > 0 {
			k = k[:i]
		}
		res.ErrorKinds[k]++
		mu.Unlock()
	}

	loadCtx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; loadCtx.Err() == nil; i++ {
				email, err := addAccount()
				if err != nil {
					fail(err)
					continue
				}
				sent := time.Now()
				if (w+i)%2 == 0 {
					sendRequests.Add(1)
					if err := post("/auth/otp", jsonBody("action", "create", "email", email), 200); err != nil {
						fail(err)
						continue
					}
					code, err := lastSecret(ctx, dev.SES, email, codeRE, sent)
					if err != nil {
						fail(err)
						continue
					}
					wrong := "000000"
					if code == wrong {
						wrong = "000001"
					}
					if err := post("/auth/otp", jsonBody("action", "validate", "email", email, "otp", wrong, "new_password", newPassword), 400); err != nil {
						fail(err)
						continue
					}
					if err := post("/auth/otp", jsonBody("action", "validate", "email", email, "otp", code, "new_password", newPassword), 200); err != nil {
						fail(err)
						continue
					}
				} else {
					sendRequests.Add(1)
					if err := post("/auth/request-reset-password", jsonBody("email", email), 200); err != nil {
						fail(err)
						continue
					}
					token, err := lastSecret(ctx, dev.SES, email, tokenRE, sent)
					if err != nil {
						fail(err)
						continue
					}
					if err := post("/auth/reset-password", jsonBody("token", token, "new_password", newPassword), 200); err != nil {
						fail(err)
						continue
					}
				}
				mu.Lock()
				res.Resets++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Duration = time.Since(start)

	// The limits, still exact: a fresh account gets exactly
	// MAX_SENDS_PER_HOUR codes, ...
	email, err := addAccount()
	if err != nil {
		return res, err
	}
	sends := 0
	for range 5 {
		sendRequests.Add(1)
		if post("/auth/otp", jsonBody("action", "create", "email", email), 200) == nil {
			sends++
		}
	}
	res.Sends = verdict(sends, 3, "codes mailed of 5 requests")
	// ... a code exactly MAX_ATTEMPTS guesses, however many race for it ...
	email, err = addAccount()
	if err != nil {
		return res, err
	}
	sendRequests.Add(1)
	if err := post("/auth/otp", jsonBody("action", "create", "email", email), 200); err != nil {
		return res, err
	}
	var counted atomic.Int64
	var race sync.WaitGroup
	for range 16 {
		race.Add(1)
		go func() {
			defer race.Done()
			// 400 is a counted wrong guess; 429 a refused one.
			if post("/auth/otp", jsonBody("action", "validate", "email", email, "otp", "999999x", "new_password", newPassword), 400) == nil {
				counted.Add(1)
			}
		}()
	}
	race.Wait()
	res.Attempts = verdict(int(counted.Load()), 5, "guesses counted of 16 racing")
	// ... and 127.0.0.1's send counter holds exactly the sends asked for.
	ipLimit, err := strconv.Atoi(loadSettings["IP_LIMIT"])
	if err != nil {
		return res, err
	}
	ipWindow, err := time.ParseDuration(loadSettings["IP_WINDOW"])
	if err != nil {
		return res, err
	}
	n, err := store.RequestsCounted(ctx, reset.PurposeSend, "127.0.0.1", reset.Limit{Max: ipLimit, Window: ipWindow}, time.Now())
	if err != nil {
		return res, err
	}
	res.IPCount = verdict(n, int(sendRequests.Load()), "sends counted for 127.0.0.1")
	return res, nil
}

func verdict(got, want int, what string) string {
	if got == want {
		return fmt.Sprintf("exact: %d %s", got, what)
	}
	return fmt.Sprintf("WRONG: %d %s, want %d", got, what, want)
}
