package password

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// ReasonBreached is the Rejection reason for a password Have I Been Pwned
// has seen in a breach.
const ReasonBreached = "This password has appeared in a data breach. Choose a different one."

// DefaultPwnedURL is the base of Have I Been Pwned's range API; the five
// hex digits of a hash prefix are appended to it.
const DefaultPwnedURL = "https://api.pwnedpasswords.com/range/"

// maxRangeResponse bounds what Breached reads of a range response. A real
// one is around 40 KB even with padding; a larger one is not the API.
const maxRangeResponse = 1 << 20

// Pwned asks Have I Been Pwned's Pwned Passwords range API whether a
// password appeared in a known breach, with k-anonymity
// (https://haveibeenpwned.com/API/v3#PwnedPasswords): only the first five
// hex digits of the password's SHA-1 leave the process, and the match
// against the returned suffixes is made here. The request asks for padding
// (Add-Padding: true), so the size of the answer does not tell an observer
// of the TLS connection which prefix was asked for either.
//
// Build it with NewPwned.
type Pwned struct {
	base   string
	client *http.Client
}

// NewPwned returns a Pwned that asks the range API at base (DefaultPwnedURL,
// or a mirror or a test server speaking the same API), giving up on a
// request after timeout.
func NewPwned(base string, timeout time.Duration) *Pwned {
	return &Pwned{base: base, client: &http.Client{Timeout: timeout}}
}

// Breached reports whether plain appears in the range API's breach corpus.
// An error means the question could not be answered (network, timeout, a
// status other than 200, an unreadable answer); what to do then is the
// caller's decision. The error never holds the password, its hash, or the
// requested URL, which carries the hash's prefix.
func (p *Pwned) Breached(ctx context.Context, plain string) (bool, error) {
	sum := sha1.Sum([]byte(plain))
	digest := strings.ToUpper(hex.EncodeToString(sum[:]))
	prefix, suffix := digest[:5], digest[5:]

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.base+prefix, nil)
	if err != nil {
		return false, errors.New("pwned passwords: bad range API URL")
	}
	req.Header.Set("Add-Padding", "true")
	req.Header.Set("User-Agent", "passreset")
	resp, err := p.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("pwned passwords: %w", withoutURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("pwned passwords: status %d", resp.StatusCode)
	}
	found, err := findSuffix(io.LimitReader(resp.Body, maxRangeResponse), suffix)
	if err != nil {
		return false, fmt.Errorf("pwned passwords: read answer: %w", withoutURL(err))
	}
	return found, nil
}

// findSuffix scans a range answer, one "SUFFIX:COUNT" a line, for suffix.
// Padding lines have a count of 0 and name no real password, so they never
// match.
func findSuffix(r io.Reader, suffix string) (bool, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		s, n, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || !strings.EqualFold(s, suffix) {
			continue
		}
		count, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			return false, errors.New("malformed count")
		}
		if count > 0 {
			return true, nil
		}
	}
	return false, sc.Err()
}

// withoutURL drops the URL a *url.Error carries: it ends in the hash
// prefix, which is a secret's hash and must not reach a log line.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
