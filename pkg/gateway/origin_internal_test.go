package gateway

import (
	"fmt"
	"testing"
)

// TestEveryTableRefusesOrigins: a refused origin is 403 "Origin not
// allowed." on every route's table, so none answers it as its 500.
func TestEveryTableRefusesOrigins(t *testing.T) {
	refused := fmt.Errorf("%w: %q", errForeignOrigin, "https://attacker.example")
	for _, tbl := range allTables {
		if got := tbl.answerFor(refused); got != (answer{403, "Origin not allowed."}) {
			t.Errorf("table of %v: a refused origin gets %v, want 403 Origin not allowed.", tbl.routes, got)
		}
	}
}

// TestOriginOf: the API URL's origin as a browser serialises it.
func TestOriginOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://abc123.execute-api.eu-west-1.amazonaws.com":  "https://abc123.execute-api.eu-west-1.amazonaws.com",
		"https://abc123.execute-api.eu-west-1.amazonaws.com/": "https://abc123.execute-api.eu-west-1.amazonaws.com",
		"https://API.Example.com/passreset":                   "https://api.example.com",
		"https://api.example.com:443/x?y#z":                   "https://api.example.com",
		"http://localhost:3000":                               "http://localhost:3000",
		"http://localhost:80":                                 "http://localhost",
		"https://api.example.com:8443":                        "https://api.example.com:8443",
		"http://[::1]:3000/":                                  "http://[::1]:3000",
	} {
		got, err := originOf(in)
		if err != nil || got != want {
			t.Errorf("originOf(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
