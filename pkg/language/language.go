// Package language chooses the language a mail or the reset page is
// written in: from the languages a reader's account or browser asks for,
// among those there are texts for.
//
// Tags are compared without regard to case, and a tag with a region or
// script matches the language alone when there is no text for the region
// ("es-MX" is written in "es"): the service's texts are per language, and a
// Mexican reader is better served in Spanish than in the default.
package language

import (
	"slices"
	"strconv"
	"strings"
)

// maxRanges bounds the ranges of one Accept-Language header read, so a
// header of thousands costs no more than a browser's handful: the header
// is cut after that many, and the rest is neither split nor read.
const maxRanges = 16

// Preferred returns the languages an Accept-Language header asks for,
// best first (RFC 9110 §12.5.4): by quality, ties in the header's order.
// A range with q=0 (not acceptable), the wildcard "*", and anything
// malformed are left out.
func Preferred(header string) []string {
	type ranged struct {
		tag string
		q   float64
	}
	var ranges []ranged
	// The piece past maxRanges holds the rest of the header, unread.
	parts := strings.SplitN(header, ",", maxRanges+1)
	for _, part := range parts[:min(len(parts), maxRanges)] {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.TrimSpace(tag)
		if !Valid(tag) {
			continue
		}
		q := 1.0
		if params = strings.TrimSpace(params); params != "" {
			name, value, ok := strings.Cut(params, "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(name), "q") {
				continue
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
			// Written so that NaN, which compares false, is refused.
			if err != nil || !(v >= 0 && v <= 1) {
				continue
			}
			q = v
		}
		if q == 0 {
			continue
		}
		ranges = append(ranges, ranged{tag: tag, q: q})
	}
	slices.SortStableFunc(ranges, func(a, b ranged) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return 0
	})
	tags := make([]string, len(ranges))
	for i, r := range ranges {
		tags[i] = r.tag
	}
	return tags
}

// Match returns the first of wanted that one of supported serves, as
// supported spells it, or "" if none does. A wanted tag is served by the
// same tag, else by its language alone ("es-MX" by "es").
func Match(supported []string, wanted ...string) string {
	for _, w := range wanted {
		w = normalize(w)
		if w == "" {
			continue
		}
		base, _, _ := strings.Cut(w, "-")
		for _, try := range []string{w, base} {
			for _, s := range supported {
				if normalize(s) == try {
					return s
				}
			}
		}
	}
	return ""
}

// Choose is the language of a mail: the account's own, else the first of
// the request's Accept-Language that there are texts for, else fallback.
// A value no text serves falls through to the next.
func Choose(supported []string, fallback, account, acceptLanguage string) string {
	if l := Match(supported, account); l != "" {
		return l
	}
	if l := Match(supported, Preferred(acceptLanguage)...); l != "" {
		return l
	}
	return fallback
}

// Valid reports whether tag is a language tag as browsers send one (RFC
// 4647's language-range without the wildcard): a language of 1 to 8
// letters, then subtags of 1 to 8 letters or digits, joined by "-" (or
// "_", as some systems store a locale).
func Valid(tag string) bool {
	subtags := strings.FieldsFunc(tag, func(r rune) bool { return r == '-' || r == '_' })
	if len(subtags) == 0 || strings.Count(tag, "-")+strings.Count(tag, "_") != len(subtags)-1 {
		return false
	}
	for i, sub := range subtags {
		if len(sub) > 8 {
			return false
		}
		for _, c := range sub {
			letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func normalize(tag string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-"))
}
