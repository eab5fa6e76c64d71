package keyring

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
)

// NewKeyBytes is how many random bytes a rotation draws for a key. They are
// written hex-encoded, and the service uses the 64 characters of the string
// as the key, as it does the template's generated one.
const NewKeyBytes = 32

// Rotation says what Rotate did, in key ids only, so it is safe to print.
type Rotation struct {
	Current  string   // the new key's id
	Retired  string   // the id of the key it replaced, now under "previous"
	Previous []string // the ids under "previous" after the rotation, sorted
	Dropped  []string // the ids dropPrevious removed from "previous", sorted
	// SubjectKeyAdded is true when the secret had no "subject_key": Rotate
	// wrote the retired key there, the key subjects were derived with.
	SubjectKeyAdded bool
}

// Rotate returns secret with a new current key drawn from random under a
// new id, the key it replaces moved under "previous", and "subject_key" set
// to the subject key secret had, so every account keeps its subject: its
// limits and its live codes and links. Other fields of secret are kept.
//
// The keys already under "previous" are kept unless dropPrevious is set;
// they are needed until no record hashed with them can still be used (see
// SECURITY.md, "Rotating the HMAC key"). A secret the service cannot read
// is refused, as it has no keys to carry over.
func Rotate(secret []byte, random io.Reader, dropPrevious bool) ([]byte, Rotation, error) {
	old, err := Parse(secret)
	if err != nil {
		return nil, Rotation{}, fmt.Errorf("the secret as it stands: %w", err)
	}
	var doc document
	var fields map[string]json.RawMessage
	// Parse has read secret as an object with a kid and a key, so neither
	// fails; fields keeps the fields this package does not know.
	if json.Unmarshal(secret, &doc) != nil || json.Unmarshal(secret, &fields) != nil || fields == nil {
		return nil, Rotation{}, errors.New("the secret as it stands is not a JSON object")
	}

	raw := make([]byte, NewKeyBytes)
	if _, err := io.ReadFull(random, raw); err != nil {
		return nil, Rotation{}, fmt.Errorf("draw key: %w", err)
	}
	rot := Rotation{Current: nextKID(doc), Retired: doc.KID, SubjectKeyAdded: doc.SubjectKey == nil}

	previous := map[string]string{doc.KID: doc.Key}
	for id, key := range doc.Previous {
		switch {
		case id == doc.KID:
			// Parse ignores it: the current key wins.
		case dropPrevious:
			rot.Dropped = append(rot.Dropped, id)
		default:
			previous[id] = key
		}
	}
	slices.Sort(rot.Dropped)
	rot.Previous = slices.Sorted(maps.Keys(previous))

	set := map[string]any{
		"kid":         rot.Current,
		"key":         hex.EncodeToString(raw),
		"previous":    previous,
		"subject_key": string(old.subject.Secret),
	}
	for name, v := range set {
		if fields[name], err = json.Marshal(v); err != nil {
			return nil, Rotation{}, fmt.Errorf("encode %s: %w", name, err)
		}
	}
	next, err := json.Marshal(fields)
	if err != nil {
		return nil, Rotation{}, fmt.Errorf("encode the secret: %w", err)
	}
	return next, rot, nil
}

// nextKID is "k" and one more than the highest number of a "k<number>" id
// in doc, so an id is never reused while its key may be in a record: "k1"
// after a template-made secret, "k1" after a secret of other names.
func nextKID(doc document) string {
	n, _ := kidNumber(doc.KID)
	for id := range doc.Previous {
		if v, ok := kidNumber(id); ok && v > n {
			n = v
		}
	}
	// Every "kM" in doc has M <= n, so k(n+1) is new.
	return "k" + strconv.Itoa(n+1)
}

// kidNumber is N of an id "kN", N a decimal number without sign.
func kidNumber(id string) (int, bool) {
	if len(id) < 2 || id[0] != 'k' {
		return 0, false
	}
	for _, c := range id[1:] {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(id[1:])
	return n, err == nil
}
