package fill

import (
	"errors"
	"strings"
)

// scanner follows an HTML template's literal text far enough to say where
// a hole falls: in text, in a quoted attribute value, or between a tag's
// attributes. It knows the page's and the mails' HTML, not all of HTML:
// anything it cannot place is refused, never guessed.
type scanner struct {
	state   scanState
	quote   byte   // the quote that ends the value being read
	tag     string // the name of the tag being read, lower case
	closing bool   // the tag is an end tag
	attr    string // the attribute being read, lower case
	raw     string // "script" or "style" while inside one
}

type scanState int

const (
	sText        scanState = iota
	sTagName               // after "<"
	sTag                   // between attributes
	sAttrName              // in an attribute's name
	sAfterName             // after an attribute's name, before "=" or the next
	sBeforeValue           // after "="
	sQuoted                // in a quoted value
	sUnquoted              // in an unquoted value
	sComment               // in <!-- -->
	sRaw                   // in a script or style element's content
)

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// scan advances over literal text.
func (s *scanner) scan(text string) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch s.state {
		case sText:
			switch {
			case strings.HasPrefix(text[i:], "<!--"):
				s.state, i = sComment, i+3
			case c == '<' && i+1 < len(text) && (isLetter(text[i+1]) || text[i+1] == '/'):
				s.state, s.tag, s.closing = sTagName, "", text[i+1] == '/'
				if s.closing {
					i++
				}
			}
		case sTagName:
			switch {
			case isLetter(c) || '0' <= c && c <= '9':
				s.tag += strings.ToLower(string(c))
			case c == '>':
				s.endTag()
			default:
				s.state = sTag
			}
		case sTag:
			switch {
			case c == '>':
				s.endTag()
			case isSpace(c) || c == '/':
			default:
				s.state, s.attr = sAttrName, strings.ToLower(string(c))
			}
		case sAttrName, sAfterName:
			switch {
			case c == '=':
				s.state = sBeforeValue
			case c == '>':
				s.endTag()
			case isSpace(c):
				s.state = sAfterName
			case s.state == sAfterName:
				s.state, s.attr = sAttrName, strings.ToLower(string(c))
			default:
				s.attr += strings.ToLower(string(c))
			}
		case sBeforeValue:
			switch {
			case c == '"' || c == '\'':
				s.state, s.quote = sQuoted, c
			case c == '>':
				s.endTag()
			case !isSpace(c):
				s.state = sUnquoted
			}
		case sQuoted:
			if c == s.quote {
				s.state = sTag
			}
		case sUnquoted:
			switch {
			case isSpace(c):
				s.state = sTag
			case c == '>':
				s.endTag()
			}
		case sComment:
			if strings.HasPrefix(text[i:], "-->") {
				s.state, i = sText, i+2
			}
		case sRaw:
			if end := "</" + s.raw; len(text)-i >= len(end) && strings.EqualFold(text[i:i+len(end)], end) {
				// In the end tag now: to its ">", then text.
				s.state, s.tag, s.closing = sTag, s.raw, true
				s.raw, i = "", i+len(end)-1
			}
		}
	}
}

// endTag leaves a tag: into a script's or style's content, or into text.
func (s *scanner) endTag() {
	if !s.closing && (s.tag == "script" || s.tag == "style") {
		s.state, s.raw = sRaw, s.tag
		return
	}
	s.state = sText
}

// holeContext says how a hole at the scanner's place is written, or why
// none may be there.
func (s *scanner) holeContext() (context, error) {
	switch s.state {
	case sText:
		return inText, nil
	case sTag:
		return inTag, nil
	case sQuoted:
		switch {
		case strings.HasPrefix(s.attr, "on") || s.attr == "style":
			return 0, errors.New("a hole in a script or style attribute")
		case s.attr == "href" || s.attr == "src" || s.attr == "action" || s.attr == "formaction":
			return inURL, nil
		}
		return inAttribute, nil
	case sRaw:
		return 0, errors.New("a hole in a " + s.raw + " element")
	case sComment:
		return 0, errors.New("a hole in a comment")
	}
	return 0, errors.New("a hole in a tag's name or an unquoted attribute")
}
