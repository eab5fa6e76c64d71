package gateway

import (
	"errors"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestHasLoneSurrogate(t *testing.T) {
	tests := []struct {
		name, raw string
		want      bool
	}{
		{"no escape", `{"a":"b"}`, false},
		{"raw non-ASCII", `{"a":"pässwörd 😀"}`, false},
		{"BMP escapes", `{"a":"\u00e9\u0041\uFFFD"}`, false},
		{"pair", `{"a":"\ud83d\ude00"}`, false},
		{"pair, upper case", `{"a":"\uD83D\uDE00"}`, false},
		{"lowest pair", `{"a":"\ud800\udc00"}`, false},
		{"highest pair", `{"a":"\udbff\udfff"}`, false},
		{"two pairs", `{"a":"\ud83d\ude00\ud83d\ude01"}`, false},
		{"escaped backslash, then text", `{"a":"\\ud800"}`, false},
		{"two escaped backslashes, then text", `{"a":"\\\\ud800"}`, false},
		{"escaped quote, then text", `{"a":"\"ud800"}`, false},
		{"one-character escapes", `{"a":"\n\t\/\b\f\r"}`, false},
		{"pair in a key", `{"\ud83d\ude00":"b"}`, false},

		{"high surrogate", `{"a":"\ud800"}`, true},
		{"high surrogate, upper case", `{"a":"\uDBFF"}`, true},
		{"low surrogate", `{"a":"\udc00"}`, true},
		{"highest low surrogate", `{"a":"\udfff"}`, true},
		{"high surrogate, then a letter", `{"a":"\ud83dx"}`, true},
		{"high surrogate, then a BMP escape", `{"a":"\ud83d\u0041"}`, true},
		{"high surrogate, then a pair", `{"a":"\ud83d\ud83d\ude00"}`, true},
		{"low, then high", `{"a":"\ude00\ud83d"}`, true},
		{"pair, then a low surrogate", `{"a":"\ud83d\ude00\ude00"}`, true},
		{"high surrogate, then an escaped backslash and udc00", `{"a":"\ud800\\udc00"}`, true},
		{"escaped backslash, then a surrogate", `{"a":"\\\ud800"}`, true},
		{"escaped quote, then a surrogate", `{"a":"\"\ud800"}`, true},
		{"at the end of a string", `{"a":"password\ud800"}`, true},
		{"in a key", `{"\ud800":"b"}`, true},
		{"in a second field", `{"a":"b","c":"\udc00"}`, true},
		{"in a nested value", `{"a":["b",{"c":"\ud800"}]}`, true},
		{"high surrogate, then a low one cut short", `{"a":"\ud800\udc0"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := hasLoneSurrogate([]byte(tt.raw)); got != tt.want {
				t.Errorf("hasLoneSurrogate(%s) = %v; want %v", tt.raw, got, tt.want)
			}
			// decodeObject refuses exactly what has one.
			if _, err := decodeObject([]byte(tt.raw)); tt.want != errors.Is(err, errBadBody) {
				t.Errorf("decodeObject(%s) = %v; want errBadBody %v", tt.raw, err, tt.want)
			}
		})
	}
	// An escape cut short anywhere is no panic, and what is left of a body
	// is the decoder's to refuse.
	for _, tt := range tests {
		for i := range len(tt.raw) {
			hasLoneSurrogate([]byte(tt.raw[:i]))
		}
	}
}

func TestPathParameter(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]string
		want   string
		ok     bool
	}{
		{"as API Gateway gives it", map[string]string{"email": "a@b.test"}, "a@b.test", true},
		{"not decoded again", map[string]string{"email": "a%40b.test"}, "a%40b.test", true},
		{"another parameter", map[string]string{"token": "abc"}, "", false},
		{"empty", map[string]string{"email": ""}, "", false},
		{"none", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// rawPath, with a stage before the route's path, is not read.
			ev := events.APIGatewayV2HTTPRequest{RawPath: "/prod/x%40y.test/reset-password", PathParameters: tt.params}
			got, err := newRequest(ev).pathParameter("email")
			if tt.ok && (err != nil || got != tt.want) {
				t.Errorf("pathParameter(email) of %q = %q, %v; want %q, nil", tt.params, got, err, tt.want)
			}
			if !tt.ok && !errors.Is(err, errBadBody) {
				t.Errorf("pathParameter(email) of %q = %q, %v; want errBadBody", tt.params, got, err)
			}
		})
	}
}
