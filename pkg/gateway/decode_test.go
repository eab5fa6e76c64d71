package gateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/password"
	"github.com/passreset/passreset/pkg/reset"
)

// These tests run without the emulators' stack: they call the decoding
// and answering functions directly.

func TestDecodeObject(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		keys []string // the keys of the object, when ok
		ok   bool
	}{
		{"empty object", `{}`, nil, true},
		{"object", `{"email": "a@x.test", "otp": "123456"}`, []string{"email", "otp"}, true},
		{"white space around", " \n\t{\"a\": 1}\r\n ", []string{"a"}, true},
		{"nested values kept raw", `{"a": {"b": [1, 2]}, "c": null}`, []string{"a", "c"}, true},
		{"same key in a nested object", `{"a": {"a": 1}, "b": {"a": 2}}`, []string{"a", "b"}, true},
		{"empty body", ``, nil, false},
		{"white space only", "  \n", nil, false},
		{"array", `[{"email": "a@x.test"}]`, nil, false},
		{"number", `42`, nil, false},
		{"string", `"a@x.test"`, nil, false},
		{"null", `null`, nil, false},
		{"true", `true`, nil, false},
		{"trailing object", `{"a": 1}{"a": 2}`, nil, false},
		{"trailing garbage", `{"a": 1} x`, nil, false},
		{"trailing comma inside", `{"a": 1,}`, nil, false},
		{"unterminated", `{"a": 1`, nil, false},
		{"missing value", `{"a": }`, nil, false},
		{"missing colon", `{"a" 1}`, nil, false},
		{"duplicate key", `{"email": "a@x.test", "email": "b@y.test"}`, nil, false},
		{"duplicate key after escapes", `{"email": "a@x.test", "\u0065mail": "b@y.test"}`, nil, false},
		{"single quotes", `{'a': 1}`, nil, false},
		{"nesting past the decoder's limit", `{"a":` + strings.Repeat("[", 10_001) + strings.Repeat("]", 10_001) + `}`, nil, false},
		{"unterminated deep nesting", `{"a":` + strings.Repeat(`{"a":`, 10_000), nil, false},
		{"NUL byte", "{\"a\": 1}\x00", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeObject([]byte(tt.raw))
			if !tt.ok {
				if !errors.Is(err, errBadBody) {
					t.Errorf("decodeObject(%.60q) = %v, %v; want errBadBody", tt.raw, obj, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeObject(%.60q) = %v; want an object", tt.raw, err)
			}
			got := slices.Sorted(maps.Keys(obj))
			if !slices.Equal(got, tt.keys) {
				t.Errorf("decodeObject(%.60q) keys = %q; want %q", tt.raw, got, tt.keys)
			}
		})
	}
}

// TestDecodeDeepNestingInBody: the deepest nesting that fits in 16 KiB is
// answered with errBadBody once the field is read, never a panic.
func TestDecodeDeepNestingInBody(t *testing.T) {
	n := (maxBody - len(`{"email":}`)) / 2
	raw := `{"email":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`
	req := newRequest(events.APIGatewayV2HTTPRequest{
		Headers: map[string]string{"content-type": "application/json"},
		Body:    raw,
	})
	obj, err := req.body()
	if err != nil {
		if !errors.Is(err, errBadBody) {
			t.Fatalf("body() with %d nested arrays = %v; want errBadBody or an object", n, err)
		}
		return
	}
	if _, _, err := obj.text("email"); !errors.Is(err, errBadBody) {
		t.Errorf("text(\"email\") on %d nested arrays = %v; want errBadBody", n, err)
	}
}

// TestDecodeObjectRefusesInvalidUTF8: RFC 8259 JSON is UTF-8, and the
// contract answers a body that is not JSON with 400. encoding/json's
// decoder alone would replace each invalid byte with U+FFFD, so a Latin-1
// password would reach the flow silently altered and pass the policy.
func TestDecodeObjectRefusesInvalidUTF8(t *testing.T) {
	tests := []struct {
		name, raw string
	}{
		{"in a value", "{\"new_password\": \"p\xe4ssw\xf6rd-1\"}"},
		{"in a key", "{\"new_\xffpassword\": \"x\"}"},
		{"truncated sequence", "{\"email\": \"a\xc3@x.test\"}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := decodeObject([]byte(tt.raw))
			if !errors.Is(err, errBadBody) {
				t.Errorf("decodeObject(%q) = %v, %v; want errBadBody (not UTF-8)", tt.raw, obj, err)
			}
		})
	}
	obj, err := decodeObject([]byte("{\"new_password\": \"p\xe4ssw\xf6rd-1\"}"))
	if err == nil {
		got, _, _ := obj.text("new_password")
		t.Errorf("the Latin-1 password \"p\\xe4ssw\\xf6rd-1\" reaches the flow as %+q; password.Policy{}.Check of it = %v",
			got, password.Policy{}.Check(got))
	}
}

func TestDecodeObjectText(t *testing.T) {
	obj, err := decodeObject([]byte(`{
		"s": "a@x.test", "empty": "", "null": null, "space": " ",
		"number": 1, "array": ["a@x.test", "b@y.test"], "object": {"$ne": null},
		"true": true, "escaped": "a\u0040x.test"
	}`))
	if err != nil {
		t.Fatalf("decodeObject: %v", err)
	}
	tests := []struct {
		field   string
		value   string
		present bool
		bad     bool
	}{
		{"s", "a@x.test", true, false},
		{"escaped", "a@x.test", true, false},
		{"space", " ", true, false},
		{"absent", "", false, false},
		{"null", "", false, false},
		{"empty", "", false, false},
		{"number", "", false, true},
		{"array", "", false, true},
		{"object", "", false, true},
		{"true", "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			value, present, err := obj.text(tt.field)
			if tt.bad {
				if !errors.Is(err, errBadBody) {
					t.Errorf("text(%q) = %q, %v, %v; want errBadBody", tt.field, value, present, err)
				}
				return
			}
			if err != nil || value != tt.value || present != tt.present {
				t.Errorf("text(%q) = %q, %v, %v; want %q, %v, nil", tt.field, value, present, err, tt.value, tt.present)
			}
		})
	}
}

func TestBodyRequest(t *testing.T) {
	const small = `{"email": "a@x.test"}`
	b64 := base64.StdEncoding.EncodeToString
	// exactly returns an object body of exactly n bytes.
	exactly := func(n int) string {
		return `{"a":"` + strings.Repeat("x", n-len(`{"a":""}`)) + `"}`
	}
	tests := []struct {
		name    string
		headers map[string]string
		body    string
		base64  bool
		ok      bool
	}{
		{"application/json", map[string]string{"content-type": "application/json"}, small, false, true},
		{"with charset", map[string]string{"content-type": "application/json; charset=utf-8"}, small, false, true},
		{"upper-case type", map[string]string{"content-type": "Application/JSON"}, small, false, true},
		{"header name not lower-cased", map[string]string{"Content-Type": "application/json"}, small, false, true},
		{"text/plain", map[string]string{"content-type": "text/plain"}, small, false, false},
		{"no Content-Type", map[string]string{}, small, false, false},
		{"nil headers", nil, small, false, false},
		{"empty Content-Type", map[string]string{"content-type": ""}, small, false, false},
		{"json-patch", map[string]string{"content-type": "application/json-patch+json"}, small, false, false},
		{"form", map[string]string{"content-type": "application/x-www-form-urlencoded"}, "email=a@x.test", false, false},
		{"malformed media type", map[string]string{"content-type": "application/json;;"}, small, false, false},
		{"base64", map[string]string{"content-type": "application/json"}, b64([]byte(small)), true, true},
		{"bad base64", map[string]string{"content-type": "application/json"}, "not base64!", true, false},
		{"base64 of an array", map[string]string{"content-type": "application/json"}, b64([]byte(`[1]`)), true, false},
		{"exactly 16 KiB", map[string]string{"content-type": "application/json"}, exactly(maxBody), false, true},
		{"16 KiB + 1", map[string]string{"content-type": "application/json"}, exactly(maxBody + 1), false, false},
		{"exactly 16 KiB, base64", map[string]string{"content-type": "application/json"}, b64([]byte(exactly(maxBody))), true, true},
		{"16 KiB + 1, base64", map[string]string{"content-type": "application/json"}, b64([]byte(exactly(maxBody + 1))), true, false},
		{"1 MiB", map[string]string{"content-type": "application/json"}, exactly(1 << 20), false, false},
		{"1 MiB, base64", map[string]string{"content-type": "application/json"}, b64([]byte(exactly(1 << 20))), true, false},
		{"empty", map[string]string{"content-type": "application/json"}, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := newRequest(events.APIGatewayV2HTTPRequest{Headers: tt.headers, Body: tt.body, IsBase64Encoded: tt.base64})
			obj, err := req.body()
			if tt.ok && err != nil {
				t.Errorf("body() with headers %q, %d-byte body (base64 %v) = %v; want an object", tt.headers, len(tt.body), tt.base64, err)
			}
			if !tt.ok && !errors.Is(err, errBadBody) {
				t.Errorf("body() with headers %q, %d-byte body (base64 %v) = %d keys, %v; want errBadBody", tt.headers, len(tt.body), tt.base64, len(obj), err)
			}
		})
	}
}

// tableName names a table for test output: its index in allTables (two
// tables share POST /auth/otp) and its routes.
func tableName(tb *table) string {
	return fmt.Sprintf("%d %s", slices.Index(allTables, tb), strings.Join(tb.routes, ", "))
}

func TestTablesAnswerFor(t *testing.T) {
	rejection := &password.Rejection{Reason: "Password must be at least 8 characters."}
	for _, tb := range allTables {
		t.Run(tableName(tb), func(t *testing.T) {
			tests := []struct {
				name    string
				outcome error
				want    answer
			}{
				{"nil", nil, tb.ok},
				{"rejection", rejection, answer{400, rejection.Reason}},
				{"wrapped rejection", fmt.Errorf("check password: %w", rejection), answer{400, rejection.Reason}},
				{"unmapped", errors.New("dynamodb: connection reset"), tb.failed},
				{"wrapped unmapped", fmt.Errorf("issue code: %w", errors.New("throttled")), tb.failed},
				{"panic", errPanic, tb.failed},
				{"errBadBody", errBadBody, tb.invalid},
				{"wrapped errBadBody", fmt.Errorf("%w: email is not a string", errBadBody), tb.invalid},
			}
			for _, tt := range tests {
				if got := tb.answerFor(tt.outcome); got != tt.want {
					t.Errorf("answerFor(%s: %v) = %v; want %v", tt.name, tt.outcome, got, tt.want)
				}
			}
			// Each rule answers its own outcome, bare or wrapped in a
			// LimitError or with context.
			for _, r := range tb.rules {
				for _, outcome := range []error{
					r.outcome,
					fmt.Errorf("flow: %w", r.outcome),
					&reset.LimitError{Err: r.outcome, RetryAfter: time.Second},
				} {
					if got := tb.answerFor(outcome); got != r.answer {
						t.Errorf("answerFor(%v) = %v; want %v", outcome, got, r.answer)
					}
				}
			}
		})
	}
}

func TestTablesComplete(t *testing.T) {
	for _, tb := range allTables {
		t.Run(tableName(tb), func(t *testing.T) {
			if len(tb.routes) == 0 {
				t.Errorf("table has no routes")
			}
			if tb.family == nil {
				t.Errorf("table has no family")
			}
			if tb.ok.status != 200 && tb.ok.status != 201 || tb.ok.message == "" {
				t.Errorf("ok = %v; want 200 or 201 with a message", tb.ok)
			}
			if tb.invalid.status != 400 || tb.invalid.message == "" {
				t.Errorf("invalid = %v; want 400 with a message", tb.invalid)
			}
			if tb.failed.status != 500 || tb.failed.message == "" {
				t.Errorf("failed = %v; want 500 with a message", tb.failed)
			}
			for _, r := range tb.rules {
				if r.outcome == nil || r.message == "" || r.status < 400 || r.status >= 500 {
					t.Errorf("rule %v -> %v; want an outcome and a 4xx with a message", r.outcome, r.answer)
				}
			}
			for _, route := range tb.routes {
				if _, ok := serves[route]; !ok {
					t.Errorf("route %q has no handler in serves", route)
				}
			}
		})
	}
}

func TestRespond(t *testing.T) {
	tests := []struct {
		name    string
		tb      *table
		outcome error
		status  int
		retry   string // "" for no Retry-After
	}{
		{"ok", &otpCreate, nil, 200, ""},
		{"created", &armorRequest, nil, 201, ""},
		{"invalid body", &linkRequest, errBadBody, 400, ""},
		{"rejection", &linkReset, &password.Rejection{Reason: "Password is too common. Choose a less common password."}, 400, ""},
		{"wrong code", &seedReset, reset.ErrInvalidCode, 401, ""},
		{"no code", &emailReset, reset.ErrNoCode, 404, ""},
		{"failure", &generate, errors.New("boom"), 500, ""},
		{"429 with 30 s", &otpCreate, &reset.LimitError{Err: reset.ErrRateLimited, RetryAfter: 30 * time.Second}, 429, "30"},
		{"429 wrapped", &linkRequest, fmt.Errorf("issue link: %w", &reset.LimitError{Err: reset.ErrRateLimited, RetryAfter: time.Hour}), 429, "3600"},
		{"429 under a second", &armorReset, &reset.LimitError{Err: reset.ErrTooManyAttempts, RetryAfter: 10 * time.Millisecond}, 429, "1"},
		{"429 without a LimitError", &otpValidate, reset.ErrTooManyAttempts, 429, "60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := tt.tb.respond(tt.outcome)
			if resp.StatusCode != tt.status {
				t.Errorf("respond(%v) status = %d; want %d", tt.outcome, resp.StatusCode, tt.status)
			}
			if got := resp.Headers["Cache-Control"]; got != "no-store" {
				t.Errorf("respond(%v) Cache-Control = %q; want no-store", tt.outcome, got)
			}
			if got := resp.Headers["Content-Type"]; got != "application/json" {
				t.Errorf("respond(%v) Content-Type = %q; want application/json", tt.outcome, got)
			}
			got, has := resp.Headers["Retry-After"]
			if tt.retry == "" && has {
				t.Errorf("respond(%v) Retry-After = %q on a %d; want none", tt.outcome, got, resp.StatusCode)
			}
			if tt.retry != "" && got != tt.retry {
				t.Errorf("respond(%v) Retry-After = %q; want %q", tt.outcome, got, tt.retry)
			}
			if tt.outcome != nil && strings.Contains(resp.Body, tt.outcome.Error()) && tt.status == 500 {
				t.Errorf("respond(%v) body %s holds the error's text", tt.outcome, resp.Body)
			}
		})
	}
	// Every answer of every table carries the same header names, apart from
	// Retry-After on a 429.
	for _, tb := range allTables {
		outcomes := []error{nil, errBadBody, errors.New("boom")}
		for _, r := range tb.rules {
			outcomes = append(outcomes, r.outcome)
		}
		for _, o := range outcomes {
			resp := tb.respond(o)
			names := slices.Sorted(maps.Keys(resp.Headers))
			want := []string{"Cache-Control", "Content-Type", "X-Content-Type-Options"}
			if resp.StatusCode == 429 {
				want = []string{"Cache-Control", "Content-Type", "Retry-After", "X-Content-Type-Options"}
			}
			if !slices.Equal(names, want) {
				t.Errorf("%s: respond(%v) headers %q; want %q", tableName(tb), o, names, want)
			}
		}
	}
}

// TestRespondRetryAfterRoundsUp: every 429 carries Retry-After in "whole
// seconds until the limit frees" (docs/contract.md), rounded up, so a client that
// waits that long is not refused again: 1.5 s is "2", 59.9 s is "60".
func TestRespondRetryAfterRoundsUp(t *testing.T) {
	tests := []struct {
		retry time.Duration
		want  string
	}{
		{1500 * time.Millisecond, "2"},
		{59900 * time.Millisecond, "60"},
		{30*time.Second + time.Millisecond, "31"},
	}
	for _, tt := range tests {
		resp := otpCreate.respond(&reset.LimitError{Err: reset.ErrRateLimited, RetryAfter: tt.retry})
		if got := resp.Headers["Retry-After"]; got != tt.want {
			t.Errorf("respond(limit freeing in %v) Retry-After = %q; want %q", tt.retry, got, tt.want)
		}
	}
}
