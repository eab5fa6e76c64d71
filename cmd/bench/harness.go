package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/passreset/passreset/pkg/config"
	"github.com/passreset/passreset/pkg/dynamo"
	"github.com/passreset/passreset/pkg/emulator"
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/gateway/apigwtest"
	"github.com/passreset/passreset/pkg/password"
)

// resetURL is the RESET_URL of the harness; the token is read back from it.
const resetURL = "https://app.passreset.bench/reset?token={token}"

// harness is the whole service in this process, as pkg/apptest builds it
// for tests: the real store on DynamoDB Local, the real mailer on the SES
// emulator, the real flows behind the real handler, and clients whose every
// call the recorder sees. direct are clients with no middleware at all, for
// the floor: the same calls made straight with the SDK.
type harness struct {
	stack   *emulator.Stack
	cfg     config.Config
	svc     function.Service
	handler *gateway.Handler
	rec     *recorder
	clock   *clock
	direct  function.Clients
	// oldHash is the stored hash every account starts with (one argon2id
	// hash, made once, of oldPassword).
	oldHash string
}

const (
	oldPassword = "old password of a bench account"
	newPassword = "correct horse battery staple 7"
)

func newHarness(ctx context.Context, stack *emulator.Stack) (*harness, error) {
	suffix := randomHex(4)
	env := map[string]string{
		"TOKENS_TABLE": "bench-tokens-" + suffix,
		"USERS_TABLE":  "bench-users-" + suffix,
		"MAIL_FROM":    "no-reply@passreset.bench",
		"RESET_URL":    resetURL,
		"HMAC_KEY":     "62656e6368206b6579206f66206174206c656173742033322062797465732121",
		"APP_NAME":     "Passreset Bench",
	}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	h := &harness{stack: stack, cfg: cfg, rec: &recorder{}, clock: &clock{now: time.Now().Truncate(time.Second)}}
	h.direct = clientsFor(stack, nil)
	clients := clientsFor(stack, h.rec)
	if err := dynamo.CreateTables(ctx, clients.DynamoDB, cfg.TokensTable, cfg.Users); err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	if h.svc, err = function.NewServiceWith(cfg, clients, log, h.clock.Now); err != nil {
		return nil, err
	}
	if h.handler, err = gateway.New(h.svc.Flows, log, gateway.RouteKeys()); err != nil {
		return nil, err
	}
	hasher, err := password.NewHasher(password.Argon2id)
	if err != nil {
		return nil, err
	}
	if h.oldHash, err = hasher.Hash(oldPassword); err != nil {
		return nil, err
	}
	return h, nil
}

// clientsFor builds the service's clients on the emulators, recorded by
// rec when it is not nil.
func clientsFor(stack *emulator.Stack, rec *recorder) function.Clients {
	cfg := function.LocalConfig()
	if rec != nil {
		cfg.APIOptions = rec.apiOptions()
	}
	return function.ClientsAt(cfg, function.Endpoints{DynamoDB: stack.DynamoDBEndpoint, SES: stack.SESEndpoint})
}

type account struct{ ID, Email string }

func (h *harness) addAccount(ctx context.Context) (account, error) {
	id := randomHex(6)
	a := account{ID: "u-" + id, Email: "user-" + id + "@example.test"}
	err := h.svc.Store.PutAccount(ctx, dynamo.NewAccount{
		ID: a.ID, Email: a.Email, Username: "user" + id, PasswordHash: h.oldHash, Verified: true, Enabled: true,
	})
	return a, err
}

// do sends one request through the handler the functions run, as API
// Gateway would, and returns the status, the calls it made and how long the
// handler took.
func (h *harness) do(ctx context.Context, method, path, body, ip string) (int, []call, time.Duration, error) {
	key, params, ok := apigwtest.Match(gateway.RouteKeys(), method, path)
	if !ok {
		return 0, nil, 0, fmt.Errorf("no route for %s %s", method, path)
	}
	req := httptest.NewRequest(method, "http://api.passreset.bench"+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "bench/1.0")
	ev := apigwtest.EventFor(req, key, params, []byte(body), ip)
	h.rec.start()
	start := time.Now()
	resp, err := h.handler.Handle(ctx, ev)
	took := time.Since(start)
	calls := h.rec.stop()
	if err != nil {
		return 0, calls, took, err
	}
	return resp.StatusCode, calls, took, nil
}

// lastSecret reads the newest code or token mailed to addr from the SES
// emulator's store, asking only for the mails of the last seconds.
func lastSecret(ctx context.Context, sesEndpoint, addr string, re *regexp.Regexp, since time.Time) (string, error) {
	url := fmt.Sprintf("%s/store?since=%d", sesEndpoint, since.Unix()-1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("read mails: %w", err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []struct {
			Destination struct {
				To []string `json:"to"`
			} `json:"destination"`
			Body struct {
				Text string `json:"text"`
			} `json:"body"`
		} `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		return "", fmt.Errorf("read mails: %w", err)
	}
	for i := len(store.Emails) - 1; i >= 0; i-- {
		m := store.Emails[i]
		for _, to := range m.Destination.To {
			if strings.EqualFold(to, addr) {
				if s := re.FindStringSubmatch(m.Body.Text); s != nil {
					return s[1], nil
				}
			}
		}
	}
	return "", fmt.Errorf("no mail to %s with %s", addr, re)
}

var (
	codeRE  = regexp.MustCompile(`(?m)^\s*(\d{6})\s*$`)
	tokenRE = regexp.MustCompile(`([0-9a-f]{64})`)
)

// clock is the service's clock, moved by the bench (to step past
// MIN_SEND_INTERVAL) instead of sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := io.ReadFull(rand.Reader, b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func jsonBody(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}
