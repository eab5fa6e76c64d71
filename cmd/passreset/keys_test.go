package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/passreset/passreset/pkg/keyring"
)

// Key material of the secrets below. No output may contain any of them, nor
// a key the rotation drew.
const (
	key1       = "first-hmac-key-material-0123456789abcdef"
	key2       = "second-hmac-key-material-0123456789abcdef"
	subjectKey = "subject-hmac-key-material-0123456789abcdef"
	secretID   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:passreset-hmac-AbCdEf"
)

// fakeSecretsManager is a hand-written Secrets Manager of one secret: Put
// replaces what Get answers, and every Put is kept.
type fakeSecretsManager struct {
	secret         string
	getErr, putErr error

	gets []string // SecretIds read
	puts []*secretsmanager.PutSecretValueInput
}

func (f *fakeSecretsManager) GetSecretValue(_ context.Context, in *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	f.gets = append(f.gets, aws.ToString(in.SecretId))
	if f.getErr != nil {
		return nil, f.getErr
	}
	return &secretsmanager.GetSecretValueOutput{SecretString: aws.String(f.secret), VersionId: aws.String("v0")}, nil
}

func (f *fakeSecretsManager) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.puts = append(f.puts, in)
	if f.putErr != nil {
		return nil, f.putErr
	}
	f.secret = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{VersionId: aws.String("v" + strconv.Itoa(len(f.puts)))}, nil
}

// secretDoc is the secret's JSON.
type secretDoc struct {
	KID        string            `json:"kid"`
	Key        string            `json:"key"`
	Previous   map[string]string `json:"previous"`
	SubjectKey string            `json:"subject_key"`
}

func decodeSecret(t *testing.T, s string) secretDoc {
	t.Helper()
	var d secretDoc
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("written secret is not JSON: %v", err)
	}
	return d
}

// noKeyPrinted fails when out holds any of keys.
func noKeyPrinted(t *testing.T, out string, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if k != "" && strings.Contains(out, k) {
			t.Errorf("output contains key material %.6s…:\n%s", k, out)
		}
	}
}

// draw is a reader of the 32 bytes a rotation draws, all b, and the key it
// must write.
func draw(b byte) (io.Reader, string) {
	raw := bytes.Repeat([]byte{b}, keyring.NewKeyBytes)
	return bytes.NewReader(raw), hex.EncodeToString(raw)
}

func TestKeysRotate(t *testing.T) {
	ctx := context.Background()
	api := &fakeSecretsManager{secret: `{"kid": "k2", "key": "` + key2 + `", "previous": {"k1": "` + key1 + `"}}`}
	var out, errOut bytes.Buffer
	c := cli{getenv: func(string) string { return "" }, stdout: &out, stderr: &errOut}

	random, key3 := draw(0x3c)
	if err := c.rotateKeys(ctx, api, "test", secretID, random, false); err != nil {
		t.Fatalf("keys rotate: %v", err)
	}
	if len(api.puts) != 1 || aws.ToString(api.puts[0].SecretId) != secretID || !slices.Equal(api.gets, []string{secretID}) {
		t.Fatalf("read %q and wrote %d versions; want one read and one write of %q", api.gets, len(api.puts), secretID)
	}
	// No staging labels: the new version becomes AWSCURRENT.
	if st := api.puts[0].VersionStages; len(st) != 0 {
		t.Errorf("PutSecretValue VersionStages = %q; want none (AWSCURRENT)", st)
	}
	d := decodeSecret(t, api.secret)
	if d.KID != "k3" || d.Key != key3 {
		t.Errorf("written kid = %q with a %d-character key; want k3 with the drawn key", d.KID, len(d.Key))
	}
	if !maps.Equal(d.Previous, map[string]string{"k1": key1, "k2": key2}) {
		t.Errorf("written previous holds %q; want k1 and k2 with their keys", slices.Sorted(maps.Keys(d.Previous)))
	}
	// Subjects were derived with k2's key: it must stay the subject key.
	if d.SubjectKey != key2 {
		t.Errorf("written subject_key is not the key subjects were derived with (k2's)")
	}
	for _, want := range []string{"k3 is the current key", "k1, k2", "subject key unchanged", "v1"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output does not say %q:\n%s", want, out.String())
		}
	}

	// A second rotation moves k3 under previous and still keeps the
	// subject key.
	random, key4 := draw(0x4d)
	if err := c.rotateKeys(ctx, api, "test", secretID, random, false); err != nil {
		t.Fatalf("second keys rotate: %v", err)
	}
	d = decodeSecret(t, api.secret)
	if d.KID != "k4" || d.Key != key4 || d.SubjectKey != key2 {
		t.Errorf("after a second rotation kid = %q, key drawn %v, subject key kept %v; want k4, true, true", d.KID, d.Key == key4, d.SubjectKey == key2)
	}
	if !maps.Equal(d.Previous, map[string]string{"k1": key1, "k2": key2, "k3": key3}) {
		t.Errorf("after a second rotation previous holds %q; want k1, k2, k3 with their keys", slices.Sorted(maps.Keys(d.Previous)))
	}
	noKeyPrinted(t, out.String()+errOut.String(), key1, key2, key3, key4)
}

func TestKeysRotateDropPrevious(t *testing.T) {
	api := &fakeSecretsManager{secret: `{"kid": "k2", "key": "` + key2 + `", "previous": {"k1": "` + key1 + `"}, "subject_key": "` + subjectKey + `"}`}
	var out bytes.Buffer
	c := cli{getenv: func(string) string { return "" }, stdout: &out, stderr: &out}
	random, key3 := draw(0x3c)
	if err := c.rotateKeys(context.Background(), api, "test", secretID, random, true); err != nil {
		t.Fatalf("keys rotate --drop-previous: %v", err)
	}
	d := decodeSecret(t, api.secret)
	if d.KID != "k3" || d.Key != key3 || d.SubjectKey != subjectKey {
		t.Errorf("written kid = %q, key drawn %v, subject_key kept %v; want k3, true, true", d.KID, d.Key == key3, d.SubjectKey == subjectKey)
	}
	if !maps.Equal(d.Previous, map[string]string{"k2": key2}) {
		t.Errorf("written previous holds %q; want only k2, the key just retired", slices.Sorted(maps.Keys(d.Previous)))
	}
	if !strings.Contains(out.String(), "dropped from previous: k1") {
		t.Errorf("output does not name the dropped key:\n%s", out.String())
	}
	noKeyPrinted(t, out.String(), key1, key2, key3, subjectKey)
}

func TestKeysRotateFails(t *testing.T) {
	errDenied := errors.New("AccessDeniedException")
	good := `{"kid": "k2", "key": "` + key2 + `", "previous": {"k1": "` + key1 + `"}}`
	tests := []struct {
		name      string
		api       *fakeSecretsManager
		wantPuts  int
		wantInErr string
	}{
		{"read denied", &fakeSecretsManager{secret: good, getErr: errDenied}, 0, "AccessDeniedException"},
		{"not JSON", &fakeSecretsManager{secret: "key=" + key2}, 0, "not JSON"},
		{"short key", &fakeSecretsManager{secret: `{"kid": "k2", "key": "` + key2[:20] + `"}`}, 0, "at least 32"},
		{"short previous key", &fakeSecretsManager{secret: `{"kid": "k2", "key": "` + key2 + `", "previous": {"k1": "` + key1[:20] + `"}}`}, 0, `previous key "k1"`},
		{"write denied", &fakeSecretsManager{secret: good, putErr: errDenied}, 1, "write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			c := cli{getenv: func(string) string { return "" }, stdout: &out, stderr: &out}
			random, drawn := draw(0x3c)
			err := c.rotateKeys(context.Background(), tt.api, "test", secretID, random, false)
			if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("keys rotate with %s = %v; want an error saying %q", tt.name, err, tt.wantInErr)
			}
			if len(tt.api.puts) != tt.wantPuts {
				t.Errorf("PutSecretValue calls = %d; want %d", len(tt.api.puts), tt.wantPuts)
			}
			if strings.Contains(out.String(), "rotated") {
				t.Errorf("output claims a rotation that failed:\n%s", out.String())
			}
			noKeyPrinted(t, out.String()+err.Error(), key1, key2, key1[:20], key2[:20], drawn)
		})
	}
}

func TestKeysUsage(t *testing.T) {
	for _, args := range [][]string{{"keys"}, {"keys", "--secret-id", "x"}, {"keys", "show"}, {"keys", "rotate"}, {"keys", "rotate", "extra", "--secret-id", "x"}} {
		var out bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &out, &out)
		if code != exitError || !strings.Contains(out.String(), "Usage:") {
			t.Errorf("passreset %q: exit %d, want %d with the usage; output:\n%s", args, code, exitError, out.String())
		}
	}
}

// TestKeysRotateEndpoint runs the command line against a Secrets Manager
// at --endpoint that speaks its JSON protocol, to check the client is built
// for that endpoint and writes what the fake tests above check.
func TestKeysRotateEndpoint(t *testing.T) {
	var mu sync.Mutex
	secret := `{"kid": "k1", "key": "` + key1 + `"}`
	var calls []string
	var token string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var in struct{ SecretId, SecretString, ClientRequestToken string }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "secretsmanager.")
		calls = append(calls, op+" "+in.SecretId)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		var resp map[string]any
		switch op {
		case "GetSecretValue":
			resp = map[string]any{"ARN": secretID, "Name": "passreset-hmac", "SecretString": secret, "VersionId": "v-old"}
		case "PutSecretValue":
			secret, token = in.SecretString, in.ClientRequestToken
			resp = map[string]any{"ARN": secretID, "Name": "passreset-hmac", "VersionId": "v-new"}
		default:
			http.Error(w, "unexpected "+op, http.StatusBadRequest)
			return
		}
		json.NewEncoder(w).Encode(resp)
	}))
	defer srv.Close()

	var out bytes.Buffer
	code := run(context.Background(), []string{"keys", "rotate", "--secret-id", "passreset-hmac", "--endpoint", srv.URL},
		func(string) string { return "" }, strings.NewReader(""), &out, &out)
	if code != exitOK {
		t.Fatalf("passreset keys rotate: exit %d\n%s", code, out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"GetSecretValue passreset-hmac", "PutSecretValue passreset-hmac"}; !slices.Equal(calls, want) {
		t.Errorf("calls at --endpoint = %q; want %q", calls, want)
	}
	if token == "" {
		t.Errorf("PutSecretValue without a ClientRequestToken: a retry could write two versions")
	}
	d := decodeSecret(t, secret)
	if d.KID != "k2" || len(d.Key) != 2*keyring.NewKeyBytes || d.SubjectKey != key1 || !maps.Equal(d.Previous, map[string]string{"k1": key1}) {
		t.Errorf("written: kid %q, %d-character key, subject key kept %v, previous %q; want k2, 64, true, [k1]",
			d.KID, len(d.Key), d.SubjectKey == key1, slices.Sorted(maps.Keys(d.Previous)))
	}
	if !strings.Contains(out.String(), "at "+srv.URL) || !strings.Contains(out.String(), "v-new") {
		t.Errorf("output does not name the endpoint and the new version:\n%s", out.String())
	}
	noKeyPrinted(t, out.String(), key1, d.Key)
}
