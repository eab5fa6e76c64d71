package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/passreset/passreset/pkg/config"
)

// TestLoadAllowedOrigins: ALLOWED_ORIGINS is read as the list of origins
// it names, each as a browser sends it; unset or empty is none.
func TestLoadAllowedOrigins(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
	}{
		{"unset", "", nil},
		{"blank", "   ", nil},
		{"one", "https://app.example.com", []string{"https://app.example.com"}},
		{"dev front end", "http://localhost:5173", []string{"http://localhost:5173"}},
		{"several", "https://app.example.com,http://localhost:5173,http://127.0.0.1:8080",
			[]string{"https://app.example.com", "http://localhost:5173", "http://127.0.0.1:8080"}},
		{"spaces around the whole value", " https://app.example.com ", []string{"https://app.example.com"}},
		{"IPv6 literal", "http://[::1]:5173", []string{"http://[::1]:5173"}},
		{"punycode host", "https://xn--bcher-kva.example", []string{"https://xn--bcher-kva.example"}},
		{"other port than the default", "https://app.example.com:8443", []string{"https://app.example.com:8443"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(getenv(with(map[string]string{"ALLOWED_ORIGINS": tt.value})))
			if err != nil {
				t.Fatalf("ALLOWED_ORIGINS=%q: %v, want nil", tt.value, err)
			}
			if !reflect.DeepEqual(c.AllowedOrigins, tt.want) {
				t.Errorf("ALLOWED_ORIGINS=%q: got %q, want %q", tt.value, c.AllowedOrigins, tt.want)
			}
		})
	}
}

// TestLoadAllowedOriginsRefused: anything a browser would never send as
// an Origin is refused with a message naming the variable and, where there
// is one, the form that would match. API Gateway compares AllowOrigins
// with the header as it comes, so a value normalised here alone would work
// under make dev and fail in AWS.
func TestLoadAllowedOriginsRefused(t *testing.T) {
	tests := []struct {
		name, value string
		hint        string // the error says this
	}{
		{"trailing slash", "https://app.example.com/", `write "https://app.example.com"`},
		{"path", "https://app.example.com/reset", `write "https://app.example.com"`},
		{"path and upper case", "https://App.example.com/", `write "https://app.example.com"`},
		{"query", "https://app.example.com?x=1", `write "https://app.example.com"`},
		{"empty query", "https://app.example.com?", `write "https://app.example.com"`},
		{"fragment", "https://app.example.com#top", `write "https://app.example.com"`},
		{"wildcard", "*", "wildcards are not allowed"},
		{"wildcard among others", "https://app.example.com,*", "wildcards are not allowed"},
		{"subdomain wildcard", "https://*.example.com", "wildcards are not allowed"},
		{"upper case host", "https://App.Example.com", `write "https://app.example.com"`},
		{"upper case scheme", "HTTPS://app.example.com", `write "https://app.example.com"`},
		{"default https port", "https://app.example.com:443", `write "https://app.example.com"`},
		{"default http port", "http://localhost:80", `write "http://localhost"`},
		{"no scheme", "app.example.com", "scheme://host[:port]"},
		{"no scheme, port", "localhost:5173", "scheme://host[:port]"},
		{"other scheme", "ftp://app.example.com", "scheme://host[:port]"},
		{"null", "null", "scheme://host[:port]"},
		{"file", "file://", "scheme://host[:port]"},
		{"user info", "https://user@app.example.com", "no user name"},
		{"empty port", "https://app.example.com:", "scheme://host[:port]"},
		{"port out of range", "https://app.example.com:70000", "scheme://host[:port]"},
		{"port with leading zero", "https://app.example.com:0443", "scheme://host[:port]"},
		{"unicode host", "https://bücher.example", "punycode"},
		{"space after a comma", "https://app.example.com, http://localhost:5173", "commas alone"},
		{"space before a comma", "https://app.example.com ,http://localhost:5173", "commas alone"},
		{"empty item", "https://app.example.com,,http://localhost:5173", "commas alone"},
		{"trailing comma", "https://app.example.com,", "commas alone"},
		{"only a comma", ",", "commas alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(getenv(with(map[string]string{"ALLOWED_ORIGINS": tt.value})))
			if err == nil {
				t.Fatalf("ALLOWED_ORIGINS=%q: nil error, want one", tt.value)
			}
			if !strings.Contains(err.Error(), "ALLOWED_ORIGINS") || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("ALLOWED_ORIGINS=%q: got error %q, want it to name ALLOWED_ORIGINS and say %q", tt.value, err, tt.hint)
			}
		})
	}
}

// TestLoadAPIURL: API_URL is optional, and when set an absolute http(s)
// URL (the template passes the execute-api URL or the custom domain's,
// make dev its own).
func TestLoadAPIURL(t *testing.T) {
	for _, v := range []string{"", "https://abc123.execute-api.eu-west-1.amazonaws.com", "https://api.example.com/passreset", "http://localhost:3000"} {
		c, err := config.Load(getenv(with(map[string]string{"API_URL": v})))
		if err != nil {
			t.Errorf("API_URL=%q: %v, want nil", v, err)
			continue
		}
		if c.APIURL != v {
			t.Errorf("API_URL=%q: got %q", v, c.APIURL)
		}
	}
	for _, v := range []string{"/relative", "api.example.com", "ftp://api.example.com", "javascript:alert(1)"} {
		_, err := config.Load(getenv(with(map[string]string{"API_URL": v})))
		if err == nil || !strings.Contains(err.Error(), "API_URL") {
			t.Errorf("API_URL=%q: got error %v, want one naming API_URL", v, err)
		}
	}
}

// TestOrigin: the API URL's origin as a browser serialises it.
func TestOrigin(t *testing.T) {
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
		got, err := config.Origin(in)
		if err != nil || got != want {
			t.Errorf("config.Origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}
