package webhook

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The specification's own test vector, verbatim from its Go library's
// TestWebhookSign (github.com/standard-webhooks/standard-webhooks,
// libraries/go/webhook_test.go), the same in its other libraries' tests.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	// vectorWrongSignature is the library's "invalid signature is invalid"
	// case.
	vectorWrongSignature = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
)

func vectorHeader(signature string, ts int64) http.Header {
	h := http.Header{}
	h.Set(HeaderID, vectorMsgID)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(HeaderSignature, signature)
	return h
}

func TestSignVector(t *testing.T) {
	secret, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	if got := Sign(secret, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload)); got != vectorSignature {
		t.Errorf("Sign(the specification's vector) = %s, want %s", got, vectorSignature)
	}
}

func TestVerify(t *testing.T) {
	secret, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	signedAt := time.Unix(vectorTimestamp, 0)
	body := []byte(vectorPayload)
	other, err := ParseSecret("whsec_" + strings.Repeat("A", 32))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		header  http.Header
		body    []byte
		now     time.Time
		secrets []Secret
		want    error
	}{
		{"vector", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt, []Secret{secret}, nil},
		{"wrong signature (vector)", vectorHeader(vectorWrongSignature, vectorTimestamp), body, signedAt, []Secret{secret}, ErrNoMatch},
		{"tampered body", vectorHeader(vectorSignature, vectorTimestamp), []byte(`{"test": 2432232315}`), signedAt, []Secret{secret}, ErrNoMatch},
		{"timestamp changed", vectorHeader(vectorSignature, vectorTimestamp+1), body, signedAt, []Secret{secret}, ErrNoMatch},
		{"other secret", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt, []Secret{other}, ErrNoMatch},
		// Rotation, receiving side: the old and the new secret held.
		{"one of two secrets", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt, []Secret{other, secret}, nil},
		// Rotation, sending side: the library's "valid multi sig is valid".
		{"one of several signatures", vectorHeader(strings.Join([]string{vectorWrongSignature, "v2," + vectorSignature[3:], vectorSignature, vectorWrongSignature}, " "), vectorTimestamp),
			body, signedAt, []Secret{secret}, nil},
		{"v1a is not v1", vectorHeader("v1a,"+vectorSignature[3:], vectorTimestamp), body, signedAt, []Secret{secret}, ErrNoMatch},
		{"at the edge of the window, old", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt.Add(Tolerance), []Secret{secret}, nil},
		{"past the window, old", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt.Add(Tolerance + time.Second), []Secret{secret}, ErrTimestamp},
		{"at the edge of the window, new", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt.Add(-Tolerance), []Secret{secret}, nil},
		{"past the window, new", vectorHeader(vectorSignature, vectorTimestamp), body, signedAt.Add(-Tolerance - time.Second), []Secret{secret}, ErrTimestamp},
		{"no id", func() http.Header { h := vectorHeader(vectorSignature, vectorTimestamp); h.Del(HeaderID); return h }(), body, signedAt, []Secret{secret}, ErrMissingHeader},
		{"id with a full stop", func() http.Header {
			h := vectorHeader(vectorSignature, vectorTimestamp)
			h.Set(HeaderID, "msg.1")
			return h
		}(), body, signedAt, []Secret{secret}, ErrMissingHeader},
		{"no signature", vectorHeader("", vectorTimestamp), body, signedAt, []Secret{secret}, ErrMissingHeader},
		{"timestamp not a number", func() http.Header { h := vectorHeader(vectorSignature, 0); h.Set(HeaderTimestamp, "soon"); return h }(), body, signedAt, []Secret{secret}, ErrMissingHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := Verify(tt.secrets, tt.header, tt.body, tt.now); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify(%v) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"the vector's", vectorSecret, true},
		{"no prefix", strings.TrimPrefix(vectorSecret, "whsec_"), false},
		{"not base64", "whsec_%%%%", false},
		{"key of 23 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), false},
		{"key of 24 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 24)), true},
		{"key of 64 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)), true},
		{"key of 65 bytes", "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSecret(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseSecret(%q) error = %v, want ok %v", tt.in, err, tt.ok)
			}
			if err != nil && len(tt.in) > 10 && strings.Contains(err.Error(), tt.in[6:]) {
				t.Errorf("ParseSecret's error repeats the secret: %v", err)
			}
		})
	}
}

func TestSecretHidden(t *testing.T) {
	secret, err := ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := sprintf(format, secret); strings.Contains(got, "MfKQ9r8") {
			t.Errorf("Sprintf(%q, secret) = %q: shows the key", format, got)
		}
	}
}
