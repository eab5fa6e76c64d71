// Package password is the policy for new passwords and the hashing of stored
// ones.
//
// Policy.Check applies the contract's new-password rules, after NIST SP
// 800-63B §5.1.1.2 (https://pages.nist.gov/800-63-3/sp800-63b.html): 8 to 128
// characters counted as Unicode code points, never truncated or case-folded,
// no composition rules, not a common password, not the account's email or
// user name. Policy.CheckNotCurrent refuses the current password.
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
//
// # The common-password list
//
// common-passwords.txt, embedded in the binary gzipped, is the 17,950 entries of 8 or
// more characters from the password list of zxcvbn-ts
// (https://github.com/zxcvbn-ts/zxcvbn), file src/passwords.json of the npm
// package @zxcvbn-ts/language-common 4.1.3, MIT licence (see
// common-passwords.LICENSE). zxcvbn-ts builds that list, as Dropbox's zxcvbn
// did, from the ten million passwords Mark Burnett published in 2015: the
// 49,233 lower-cased passwords seen more than 10 times, ranked by frequency,
// less non-ASCII ones and those zxcvbn's patterns (repeats, sequences) guess
// anyway. Entries shorter than 8 are dropped because Check refuses them for
// length first. To rebuild it from a newer release:
//
//	npm pack @zxcvbn-ts/language-common@VERSION && tar xzf zxcvbn-ts-language-common-VERSION.tgz
//
// then keep the file's header, and below its empty line write the entries of
// package/src/passwords.json with 8 or more characters, sorted bytewise, one a
// line; TestCommonPasswordsFile checks the result. Then rebuild the embedded
// copy, gzip -9 -n -k -c common-passwords.txt > common-passwords.txt.gz, which
// TestEmbeddedListMatchesText checks.
package password
