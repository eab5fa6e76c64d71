// Command link-request is the link-request Lambda function: it serves the routes of
// gateway.LinkRequest(), whose flows hash with the HMAC key it reads from
// Secrets Manager.
package main

import (
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/keysecret"
)

func main() {
	function.Start(gateway.LinkRequest(), keysecret.New)
}
