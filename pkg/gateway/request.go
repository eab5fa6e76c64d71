package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/passreset/passreset/pkg/captcha"
)

// maxBody is the contract's largest request body.
const maxBody = 16 << 10

// request is an event as the APIs read it.
type request struct {
	ev events.APIGatewayV2HTTPRequest
	// captcha verifies a send route's token; nil when the bot defence is
	// off (captcha.go).
	captcha *captcha.Verifier
}

func newRequest(ev events.APIGatewayV2HTTPRequest) request { return request{ev: ev} }

// sourceIP is API Gateway's view of the client: the TCP peer. Headers such
// as X-Forwarded-For are the client's to write and are never read.
func (r request) sourceIP() string { return r.ev.RequestContext.HTTP.SourceIP }

// userAgent names the device, for codes bound to one.
func (r request) userAgent() string { return r.header("user-agent") }

// acceptLanguage is the languages the client reads, as sent: a mail's
// language when the account names none, and the page's. It never changes
// a JSON answer.
func (r request) acceptLanguage() string { return r.header("accept-language") }

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

// pathParameter returns the route's path parameter name as API Gateway
// gives it: URL-decoded once, and never decoded again here, so a
// double-encoded value stays encoded and fails the email's own rules. It is
// read from pathParameters rather than rawPath, which carries the stage name
// of a named stage or the base path of a custom domain's API mapping before
// the route's own segments.
func (r request) pathParameter(name string) (string, error) {
	v := r.ev.PathParameters[name]
	if v == "" {
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
	// For the same reason, an escaped lone surrogate (\ud800), which it
	// would also turn into U+FFFD.
	if hasLoneSurrogate(raw) {
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

// hasLoneSurrogate reports whether a \u escape in raw names half of a
// UTF-16 surrogate pair without the other half: a high surrogate
// (\ud800-\udbff) not followed at once by a low one (\udc00-\udfff), or a
// low one alone. encoding/json decodes each to U+FFFD, so two passwords
// that differ only there would become one stored password.
//
// In JSON a backslash occurs only inside a string (keys included), and no
// byte of a multi-byte UTF-8 sequence is a backslash, so every backslash
// starts an escape. Each escape is consumed whole: the second backslash of
// an escaped backslash, as in \\ud800 (a backslash, then the text "ud800"),
// never starts another. An escape cut short is left for the decoder to
// refuse.
func hasLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		u, ok := unicodeEscape(raw, i)
		if !ok {
			i++ // a one-character escape: \", \\, \/, \n, ...
			continue
		}
		i += 5 // the escape's last hex digit
		switch {
		case 0xdc00 <= u && u <= 0xdfff:
			return true // a low surrogate with no high one before it
		case 0xd800 <= u && u <= 0xdbff:
			low, ok := unicodeEscape(raw, i+1)
			if !ok || low < 0xdc00 || low > 0xdfff {
				return true // a high surrogate with no low one after it
			}
			i += 6
		}
	}
	return false
}

// unicodeEscape reads the \uXXXX escape at raw[i:], if there is one.
func unicodeEscape(raw []byte, i int) (rune, bool) {
	if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
		return 0, false
	}
	var u rune
	for _, c := range raw[i+2 : i+6] {
		switch {
		case '0' <= c && c <= '9':
			u = u<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			u = u<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			u = u<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return u, true
}
