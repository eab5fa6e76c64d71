package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Mail is one message the SES emulator accepted.
type Mail struct {
	From    string
	To      []string
	Subject string
	// Text and HTML are the two bodies of a Simple message; either may be
	// empty, since SES needs only one of them.
	Text string
	HTML string
	// At is when the emulator received it, to the second.
	At time.Time
}

// storedMail is a mail as the emulator's GET /store lists it.
type storedMail struct {
	MessageID   string `json:"messageId"`
	From        string `json:"from"`
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		Text string `json:"text"`
		HTML string `json:"html"`
	} `json:"body"`
	At int64 `json:"at"` // Unix seconds
}

// mailCache holds the mails read from the emulator's store. Its GET
// /store answers with every mail it holds, bodies included, and the
// tests read it after nearly every request: decoding the whole store each
// time grew with the square of the mails sent and was a fifth of a test
// run's CPU. Mails asks only for what arrived since the newest second it
// has seen (the store's since filter, inclusive), and drops the ones it
// already holds by message id.
type mailCache struct {
	mu     sync.Mutex
	seen   map[string]bool
	mails  []Mail
	newest int64 // Unix seconds of the newest mail held
}

// Mails returns every mail the SES emulator has received since it started
// or since the last ClearMails, oldest first. It reads each mail from the
// emulator once (mailCache); a store cleared by anything but this Stack's
// ClearMails goes unnoticed.
//
// The store is shared by every test using the stack: a test that runs in
// parallel with others should pick the mails sent to its own, unique
// recipient rather than count them all.
func (s *Stack) Mails(ctx context.Context) ([]Mail, error) {
	c := &s.mails
	c.mu.Lock()
	defer c.mu.Unlock()
	url := s.SESEndpoint + "/store"
	if c.newest > 0 {
		url += "?since=" + strconv.FormatInt(c.newest, 10)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("emulator: read mails: %w", err)
	}
	body, err := do(req)
	if err != nil {
		return nil, fmt.Errorf("emulator: read mails: %w", err)
	}
	var store struct {
		Emails []storedMail `json:"emails"`
	}
	if err := json.Unmarshal(body, &store); err != nil {
		return nil, fmt.Errorf("emulator: read mails: decode store: %w", err)
	}
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	for _, m := range store.Emails {
		if c.seen[m.MessageID] {
			continue
		}
		c.seen[m.MessageID] = true
		c.newest = max(c.newest, m.At)
		c.mails = append(c.mails, Mail{
			From:    m.From,
			To:      m.Destination.To,
			Subject: m.Subject,
			Text:    m.Body.Text,
			HTML:    m.Body.HTML,
			At:      time.Unix(m.At, 0),
		})
	}
	return slices.Clone(c.mails), nil
}

// ClearMails empties the SES emulator's store (its POST /clear-store),
// which also deletes any email templates created on it. It suits a test
// that runs alone; see Mails for tests that run in parallel.
func (s *Stack) ClearMails(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.SESEndpoint+"/clear-store", nil)
	if err != nil {
		return fmt.Errorf("emulator: clear mails: %w", err)
	}
	c := &s.mails
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := do(req); err != nil {
		return fmt.Errorf("emulator: clear mails: %w", err)
	}
	c.seen, c.mails, c.newest = nil, nil, 0
	return nil
}

// do sends req and returns the body of a 200 answer.
func do(req *http.Request) ([]byte, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read body: %w", req.Method, req.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
