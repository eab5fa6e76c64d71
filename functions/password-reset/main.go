// Command password-reset is the password-reset Lambda function: it serves
// the routes of gateway.PasswordReset(). None of its flows hashes with the
// HMAC key, so it links no Secrets Manager client.
package main

import (
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
)

func main() {
	function.Start(gateway.PasswordReset(), nil)
}
