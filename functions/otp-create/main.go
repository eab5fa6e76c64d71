// Command otp-create is the otp-create Lambda function: it serves the routes of
// gateway.OTPCreate(), whose flows hash with the HMAC key it reads from
// Secrets Manager.
package main

import (
	"github.com/passreset/passreset/pkg/function"
	"github.com/passreset/passreset/pkg/gateway"
	"github.com/passreset/passreset/pkg/keysecret"
)

func main() {
	function.Start(gateway.OTPCreate(), keysecret.New)
}
