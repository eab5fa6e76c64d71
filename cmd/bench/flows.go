package main

import (
	"context"
	"fmt"
	"time"

	"github.com/passreset/passreset/pkg/password"
)

// The flows measured, in the order one iteration runs them.
const (
	flowRequestCode  = "request a code"
	flowRequestAgain = "request a code (IP and account windows open)"
	flowWrongGuess   = "reset with a code: wrong guess"
	flowRightGuess   = "reset with a code: right guess"
	flowRequestLink  = "request a link"
	flowResetLink    = "reset with a link"
)

var flowOrder = []string{flowRequestCode, flowRequestAgain, flowWrongGuess, flowRightGuess, flowRequestLink, flowResetLink}

// flowSample is what one run of a flow measured.
type flowSample struct {
	status int
	calls  []call
	took   time.Duration
	floor  time.Duration
}

// flowResults are every run of every flow, and the password hashing timed
// between them.
type flowResults struct {
	runs   map[string][]flowSample
	hash   []time.Duration // one argon2id Hash at the default parameters
	verify []time.Duration // one argon2id Verify of the stored hash
}

// runFlows runs n iterations of the code and link flows, each on fresh
// accounts and fresh source IPs, as users arrive in production, and after
// each flow replays its calls straight with the SDK (the floor).
func runFlows(ctx context.Context, h *harness, n int) (flowResults, error) {
	res := flowResults{runs: map[string][]flowSample{}}
	hasher, err := password.NewHasher(password.Argon2id)
	if err != nil {
		return res, err
	}
	step := func(name, method, path, body, ip string, want int) error {
		status, calls, took, err := h.do(ctx, method, path, body, ip)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if status != want {
			return fmt.Errorf("%s: got status %d, want %d (calls %s)", name, status, want, sequence(calls))
		}
		floor, err := replay(ctx, h.direct, calls)
		if err != nil {
			return fmt.Errorf("%s: floor: %w", name, err)
		}
		res.runs[name] = append(res.runs[name], flowSample{status: status, calls: calls, took: took, floor: floor})
		return nil
	}
	for i := range n {
		ip := fmt.Sprintf("203.0.%d.%d", 1+i/250, 1+i%250)
		a, err := h.addAccount(ctx)
		if err != nil {
			return res, err
		}
		sent := time.Now()
		if err := step(flowRequestCode, "POST", "/auth/otp", jsonBody("action", "create", "email", a.Email), ip, 200); err != nil {
			return res, err
		}
		// The same account asks again once MIN_SEND_INTERVAL has passed:
		// its IP counter and its send window are open now.
		h.clock.Advance(h.cfg.Reset.MinSendInterval + time.Second)
		if err := step(flowRequestAgain, "POST", "/auth/otp", jsonBody("action", "create", "email", a.Email), ip, 200); err != nil {
			return res, err
		}
		code, err := lastSecret(ctx, h.stack.SESEndpoint, a.Email, codeRE, sent)
		if err != nil {
			return res, err
		}
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		if err := step(flowWrongGuess, "POST", "/auth/otp", jsonBody("action", "validate", "email", a.Email, "otp", wrong, "new_password", newPassword), ip, 400); err != nil {
			return res, err
		}
		if err := step(flowRightGuess, "POST", "/auth/otp", jsonBody("action", "validate", "email", a.Email, "otp", code, "new_password", newPassword), ip, 200); err != nil {
			return res, err
		}

		// Hashing alone, between the flows, at the service's parameters.
		start := time.Now()
		stored, err := hasher.Hash(newPassword)
		if err != nil {
			return res, err
		}
		res.hash = append(res.hash, time.Since(start))
		start = time.Now()
		if _, err := password.Verify(stored, oldPassword); err != nil {
			return res, err
		}
		res.verify = append(res.verify, time.Since(start))

		lip := fmt.Sprintf("203.1.%d.%d", 1+i/250, 1+i%250)
		b, err := h.addAccount(ctx)
		if err != nil {
			return res, err
		}
		sent = time.Now()
		if err := step(flowRequestLink, "POST", "/auth/request-reset-password", jsonBody("email", b.Email), lip, 200); err != nil {
			return res, err
		}
		token, err := lastSecret(ctx, h.stack.SESEndpoint, b.Email, tokenRE, sent)
		if err != nil {
			return res, err
		}
		if err := step(flowResetLink, "POST", "/auth/reset-password", jsonBody("token", token, "new_password", newPassword), lip, 200); err != nil {
			return res, err
		}
		if i%10 == 9 {
			if err := h.stack.ClearMails(ctx); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}
