package devserver

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"unicode"

	"gopkg.in/yaml.v3"
)

// Routes says which function serves which route keys, as template.yaml
// wires them: function directory ("otp-create") to its route keys
// ("POST /generate-otp"), each list sorted.
type Routes map[string][]string

// Keys lists every route key, sorted.
func (r Routes) Keys() []string {
	var keys []string
	for _, ks := range r {
		keys = append(keys, ks...)
	}
	sort.Strings(keys)
	return keys
}

// Function names the function serving routeKey.
func (r Routes) Function(routeKey string) (string, bool) {
	for fn, ks := range r {
		for _, k := range ks {
			if k == routeKey {
				return fn, true
			}
		}
	}
	return "", false
}

// ReadTemplate reads the routes of the SAM template at path: every
// AWS::Serverless::Function's events of type HttpApi, by the directory
// under functions/ that the function is built from. The template's
// CloudFormation tags (!Ref, !Sub, !If) are kept as they are: only the
// plain Method and Path strings are read.
func ReadTemplate(path string) (Routes, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	routes, err := ParseTemplate(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return routes, nil
}

// ParseTemplate is ReadTemplate on the template's text.
func ParseTemplate(data []byte) (Routes, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty template")
	}
	resources := field(doc.Content[0], "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return nil, errors.New("no Resources")
	}
	routes := Routes{}
	seen := map[string]string{} // route key -> logical ID, to refuse a route wired twice
	for i := 0; i+1 < len(resources.Content); i += 2 {
		id, res := resources.Content[i].Value, resources.Content[i+1]
		if scalar(field(res, "Type")) != "AWS::Serverless::Function" {
			continue
		}
		events := field(field(res, "Properties"), "Events")
		if events == nil {
			continue
		}
		dir := FunctionDir(id)
		for j := 0; j+1 < len(events.Content); j += 2 {
			name, ev := events.Content[j].Value, events.Content[j+1]
			if scalar(field(ev, "Type")) != "HttpApi" {
				continue
			}
			props := field(ev, "Properties")
			method, path := strings.ToUpper(scalar(field(props, "Method"))), scalar(field(props, "Path"))
			if method == "" || !strings.HasPrefix(path, "/") {
				return nil, fmt.Errorf("function %s, event %s: want a plain Method and a Path starting with /", id, name)
			}
			key := method + " " + path
			if other, dup := seen[key]; dup {
				return nil, fmt.Errorf("route %q is wired to both %s and %s", key, other, id)
			}
			seen[key] = id
			routes[dir] = append(routes[dir], key)
		}
	}
	if len(routes) == 0 {
		return nil, errors.New("no function has an HttpApi event")
	}
	for _, ks := range routes {
		sort.Strings(ks)
	}
	return routes, nil
}

// FunctionDir maps a function's logical ID to its directory under
// functions/, by the template's convention: OtpCreateFunction is built
// from functions/otp-create.
func FunctionDir(logicalID string) string {
	var b strings.Builder
	for i, r := range strings.TrimSuffix(logicalID, "Function") {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// field is the value of key in the mapping n, or nil.
func field(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// scalar is n's value when it is a plain string, and "" for anything else,
// a tagged intrinsic such as !Ref included.
func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "") {
		return ""
	}
	return n.Value
}
