package apptest

import "github.com/passreset/passreset/pkg/password"

// Every test binary that builds the service with apptest hashes passwords
// with Argon2id at its smallest cost. These tests check what the flows do
// with a hash (which password verifies, which is refused, what is stored),
// not what it costs: at OWASP's parameters a hash took about 150 ms, and
// the hashes were more than half of pkg/gateway's CPU. pkg/password pins
// the production parameters (TestDefaultArgon2IsOWASPMinimum), and make
// bench measures the flows with them; neither links apptest.
func init() {
	password.DefaultArgon2 = password.Argon2Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}
