package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// maxBody is the contract's largest request body.
const maxBody = 16 << 10

// request is an event as the families read it.
type request struct {
	ev events.APIGatewayV2HTTPRequest
}

func newRequest(ev events.APIGatewayV2HTTPRequest) request { return request{ev: ev} }

// sourceIP is API Gateway's view of the client: the TCP peer. Headers such
// as X-Forwarded-For are the client's to write and are never read.
func (r request) sourceIP() string { return r.ev.RequestContext.HTTP.SourceIP }

// userAgent names the device, for codes bound to one.
func (r request) userAgent() string { return r.header("user-agent") }

// header reads a header by name, whatever its case (API Gateway lower-cases
// them; other callers may not).
func (r request) header(name string) string {
	for k, v := range r.ev.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// pathSegment returns the i-th segment of the raw path, URL-decoded once. A
// double-encoded value stays encoded, and fails the email's own rules.
func (r request) pathSegment(i int) (string, error) {
	raw := r.ev.RawPath
	if raw == "" {
		return "", errBadBody
	}
	segs := strings.Split(strings.TrimPrefix(raw, "/"), "/")
	if i >= len(segs) {
		return "", errBadBody
	}
	v, err := url.PathUnescape(segs[i])
	if err != nil {
		return "", errBadBody
	}
	return v, nil
}

// object is a JSON request body: one object, no key twice.
type object map[string]json.RawMessage

// body decodes the request body as the contract requires: JSON by its
// Content-Type, at most 16 KiB, a single object whose keys appear once. A
// duplicated key is refused because two parsers reading it differently
// (first wins, last wins) is how one email becomes two recipients.
func (r request) body() (object, error) {
	mt, _, err := mime.ParseMediaType(r.header("content-type"))
	if err != nil || mt != "application/json" {
		return nil, errBadBody
	}
	raw := []byte(r.ev.Body)
	if r.ev.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(raw)) > maxBody+3 {
			return nil, errBadBody
		}
		if raw, err = base64.StdEncoding.DecodeString(r.ev.Body); err != nil {
			return nil, errBadBody
		}
	}
	if len(raw) > maxBody {
		return nil, errBadBody
	}
	return decodeObject(raw)
}

func decodeObject(raw []byte) (object, error) {
	// encoding/json would turn invalid UTF-8 into U+FFFD and a password
	// would be stored other than it was typed: refuse it instead.
	if !utf8.Valid(raw) {
		return nil, errBadBody
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errBadBody
	}
	obj := object{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errBadBody
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errBadBody
		}
		if _, dup := obj[key]; dup {
			return nil, errBadBody
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, errBadBody
		}
		obj[key] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errBadBody
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errBadBody // trailing data after the object
	}
	return obj, nil
}

// text reads a string field. present is false when the field is absent,
// null or "". A value of another type (an array of emails, an object such
// as {"$ne": null}, a number) is errBadBody.
func (o object) text(name string) (value string, present bool, err error) {
	raw, ok := o[name]
	if !ok || string(raw) == "null" {
		return "", false, nil
	}
	if err := json.Unmarshal(raw, &value); err != nil {
		return "", false, fmt.Errorf("%w: %s is not a string", errBadBody, name)
	}
	return value, value != "", nil
}
