// Package password hashes stored passwords.
//
// Hasher.Hash stores argon2id (RFC 9106, https://www.rfc-editor.org/rfc/rfc9106)
// as a PHC string (https://github.com/P-H-C/phc-string-format), encoded as the
// reference implementation does (https://github.com/P-H-C/phc-winner-argon2),
// with OWASP's minimum parameters (DefaultArgon2; OWASP Password Storage Cheat
// Sheet, https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html).
// For apps whose login checks bcrypt it stores bcrypt instead, refusing a
// password over bcrypt's 72 bytes rather than truncating it. Verify reads both
// formats and bounds every parameter, so a hostile stored string is an error,
// not a panic or an exhausted Lambda.
package password
