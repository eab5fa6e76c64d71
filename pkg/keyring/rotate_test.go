package keyring_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"testing/iotest"

	"github.com/passreset/passreset/pkg/keyring"
)

// drawn is what Rotate draws from the reader the tests give it, and the key
// it must write.
var (
	drawn      = bytes.Repeat([]byte{0xa5}, keyring.NewKeyBytes)
	drawnKey   = hex.EncodeToString(drawn)
	otherKey   = "other-key-material-0123456789abcdef0123"
	higherKey  = "higher-key-material-0123456789abcdef01"
	templateKV = `{"kid":"k1","key":"` + currentKey + `"}`
)

func TestRotate(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		drop   bool

		wantKID      string
		wantPrevious map[string]string
		wantSubject  string
		wantRot      keyring.Rotation
	}{
		{
			name:         "the template's secret",
			secret:       templateKV,
			wantKID:      "k2",
			wantPrevious: map[string]string{"k1": currentKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k2", Retired: "k1", Previous: []string{"k1"}, SubjectKeyAdded: true},
		},
		{
			name:         "previous keys are kept",
			secret:       validSecret(),
			wantKID:      "k3",
			wantPrevious: map[string]string{"k1": previousKey, "k2": currentKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k3", Retired: "k2", Previous: []string{"k1", "k2"}, SubjectKeyAdded: true},
		},
		{
			name:         "drop previous keeps only the retired key",
			secret:       validSecret(),
			drop:         true,
			wantKID:      "k3",
			wantPrevious: map[string]string{"k2": currentKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k3", Retired: "k2", Previous: []string{"k2"}, Dropped: []string{"k1"}, SubjectKeyAdded: true},
		},
		{
			name:         "a subject key is carried over",
			secret:       `{"kid": "k7", "key": "` + currentKey + `", "previous": {"k6": "` + previousKey + `"}, "subject_key": "` + subjectKey + `"}`,
			wantKID:      "k8",
			wantPrevious: map[string]string{"k6": previousKey, "k7": currentKey},
			wantSubject:  subjectKey,
			wantRot:      keyring.Rotation{Current: "k8", Retired: "k7", Previous: []string{"k6", "k7"}},
		},
		{
			name:         "ids of other shapes",
			secret:       `{"kid": "prod", "key": "` + currentKey + `", "previous": {"k-1": "` + previousKey + `", "k1x": "` + otherKey + `"}}`,
			wantKID:      "k1",
			wantPrevious: map[string]string{"prod": currentKey, "k-1": previousKey, "k1x": otherKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k1", Retired: "prod", Previous: []string{"k-1", "k1x", "prod"}, SubjectKeyAdded: true},
		},
		{
			name:         "a higher id under previous is not reused",
			secret:       `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k9": "` + higherKey + `"}}`,
			wantKID:      "k10",
			wantPrevious: map[string]string{"k2": currentKey, "k9": higherKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k10", Retired: "k2", Previous: []string{"k2", "k9"}, SubjectKeyAdded: true},
		},
		{
			name:         "a dropped id is not reused",
			secret:       `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k9": "` + higherKey + `"}}`,
			drop:         true,
			wantKID:      "k10",
			wantPrevious: map[string]string{"k2": currentKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k10", Retired: "k2", Previous: []string{"k2"}, Dropped: []string{"k9"}, SubjectKeyAdded: true},
		},
		{
			// Parse ignores previous["k2"] while k2 is current; the key
			// that was in use is the one kept.
			name:         "previous naming the current id",
			secret:       `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k2": "` + previousKey + `"}}`,
			wantKID:      "k3",
			wantPrevious: map[string]string{"k2": currentKey},
			wantSubject:  currentKey,
			wantRot:      keyring.Rotation{Current: "k3", Retired: "k2", Previous: []string{"k2"}, SubjectKeyAdded: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, rot, err := keyring.Rotate([]byte(tt.secret), bytes.NewReader(drawn), tt.drop)
			if err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			var doc struct {
				KID        string            `json:"kid"`
				Key        string            `json:"key"`
				Previous   map[string]string `json:"previous"`
				SubjectKey string            `json:"subject_key"`
			}
			if err := json.Unmarshal(next, &doc); err != nil {
				t.Fatalf("Rotate wrote something that is not JSON: %v", err)
			}
			if doc.KID != tt.wantKID || doc.Key != drawnKey {
				t.Errorf("new kid, key = %q, %d characters; want %q and the drawn key in hex", doc.KID, len(doc.Key), tt.wantKID)
			}
			// Ids only in the message, never the keys.
			if !maps.Equal(doc.Previous, tt.wantPrevious) {
				t.Errorf("previous holds %q; want %q", slices.Sorted(maps.Keys(doc.Previous)), slices.Sorted(maps.Keys(tt.wantPrevious)))
			}
			if doc.SubjectKey != tt.wantSubject {
				t.Errorf("subject_key is not the key subjects were derived with")
			}
			if !rotationEqual(rot, tt.wantRot) {
				t.Errorf("Rotation = %+v; want %+v", rot, tt.wantRot)
			}

			// The service reads what was written, with the same subjects.
			ctx := context.Background()
			before, err := keyring.Parse([]byte(tt.secret))
			if err != nil {
				t.Fatal(err)
			}
			after, err := keyring.Parse(next)
			if err != nil {
				t.Fatalf("Parse(rotated secret): %v", err)
			}
			s0, _ := before.Subject(ctx)
			s1, _ := after.Subject(ctx)
			if !bytes.Equal(s0.Secret, s1.Secret) {
				t.Errorf("the rotation changed the subject key")
			}
			if k, err := after.Current(ctx); err != nil || k.ID != tt.wantKID || string(k.Secret) != drawnKey {
				t.Errorf("rotated Current() = %q, %v; want %q with the drawn key", k.ID, err, tt.wantKID)
			}
			old, _ := before.Current(ctx)
			if k, err := after.ByID(ctx, old.ID); err != nil || !bytes.Equal(k.Secret, old.Secret) {
				t.Errorf("rotated ByID(%q) = %v; want the retired key, so codes in flight verify", old.ID, err)
			}
		})
	}
}

func TestRotateKeepsOtherFields(t *testing.T) {
	secret := `{"kid": "k1", "key": "` + currentKey + `", "note": {"owner": "team-auth"}}`
	next, _, err := keyring.Rotate([]byte(secret), bytes.NewReader(drawn), false)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(next, &doc); err != nil {
		t.Fatal(err)
	}
	if got := string(doc["note"]); got != `{"owner":"team-auth"}` {
		t.Errorf("note = %s after the rotation; want it kept", got)
	}
}

func TestRotateRefuses(t *testing.T) {
	tests := []struct {
		name, secret string
		random       []byte
	}{
		{"not JSON", `key=` + currentKey, drawn},
		{"null", `null`, drawn},
		{"short key", `{"kid": "k1", "key": "` + shortKey + `"}`, drawn},
		{"short previous key", `{"kid": "k2", "key": "` + currentKey + `", "previous": {"k1": "` + shortKey + `"}}`, drawn},
		{"short subject key", `{"kid": "k2", "key": "` + currentKey + `", "subject_key": "` + shortKey + `"}`, drawn},
		{"random runs dry", validSecret(), drawn[:keyring.NewKeyBytes-1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, _, err := keyring.Rotate([]byte(tt.secret), bytes.NewReader(tt.random), false)
			if err == nil {
				t.Fatalf("Rotate(%s) = %d bytes, nil error; want an error", tt.name, len(next))
			}
			if next != nil {
				t.Errorf("Rotate(%s) returned a secret with its error", tt.name)
			}
			noKeyIn(t, "Rotate("+tt.name+")", err)
		})
	}
	errRandom := errors.New("no entropy")
	if _, _, err := keyring.Rotate([]byte(validSecret()), iotest.ErrReader(errRandom), false); !errors.Is(err, errRandom) {
		t.Errorf("Rotate with a failing reader = %v; want it to wrap %v", err, errRandom)
	}
}

func rotationEqual(a, b keyring.Rotation) bool {
	return a.Current == b.Current && a.Retired == b.Retired && a.SubjectKeyAdded == b.SubjectKeyAdded &&
		slices.Equal(a.Previous, b.Previous) && slices.Equal(a.Dropped, b.Dropped)
}
