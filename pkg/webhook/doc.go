// Package webhook is passreset's client of a team's account hook: the three
// signed HTTP calls through which passreset finds an account, sets its
// password and ends its sessions when the accounts live in the team's own
// store (a SQL database, a legacy service) rather than in DynamoDB or
// Cognito. examples/postgres-receiver is a receiver that keeps them in
// PostgreSQL.
//
// # Signatures
//
// Every call is signed per the Standard Webhooks specification, version
// 1.0.0 (https://github.com/standard-webhooks/standard-webhooks,
// spec/standard-webhooks.md, "Verifying webhook authenticity"): three
// headers,
//
//	webhook-id:        msg_<26 base32 characters>, the same on every retry of one call
//	webhook-timestamp: the attempt's time, integer Unix seconds
//	webhook-signature: v1,<base64 HMAC-SHA256(key, id + "." + timestamp + "." + body)>
//
// where key is the secret written "whsec_<base64 of 24 to 64 bytes>". While a
// secret is being rotated the client holds both and the header carries both
// signatures, space-separated; a receiver accepts the request when any of
// them matches any secret it holds. The receiver refuses, with 401, a
// request whose timestamp is more than Tolerance away from its own clock
// (a replay, or a clock gone wrong) or whose signature does not match: see
// Verify.
//
// # Calls
//
// Each call is a POST of a JSON object to one path under the configured
// base URL, answered with a JSON object. 2xx is an answer; 409 is an answer
// that names its outcome in "error"; anything else is a failure (HookError).
//
// Look up an account, POST {base}/accounts/lookup:
//
//	{"by": "email", "value": "ana@example.com"}    the address lower-cased; exact match on lower(email)
//	{"by": "username", "value": "ana"}             exact match
//	{"by": "id", "value": "u-123"}                 exact match; the only lookup answered with the hash
//
//	200 {"account": {"id": "u-123", "email": "Ana@example.com", "username": "ana",
//	                 "verified": true, "enabled": true, "version": 7, "locale": "de",
//	                 "password_hash": "$argon2id$..."}}          (password_hash only when "by" is "id";
//	                                                              locale optional: the mails' language)
//	200 {"account": null}                                        no such account
//	409 {"error": "ambiguous"}                                   more than one account matches
//
// Not found is 200 with a null account, never 404: a 404 is what a wrong
// base URL or path answers, and it must not quietly turn every account into
// an unknown one. More than one match is refused, because a code mailed to
// one of two accounts sharing an address is a code for the wrong account.
// The password hash travels only for the lookup by id, which the flows make
// to refuse the current password as the new one; lookups by name happen
// for anyone who types an address and have no use for it.
//
// Set the password, POST {base}/accounts/set-password:
//
//	{"id": "u-123", "password_hash": "$argon2id$...", "expected_version": 7}
//
//	200 {"version": 8}                      applied; the account's new version
//	409 {"error": "version_moved"}          the account is not at expected_version (or is gone)
//
// password_hash is in the format passreset is configured to hash with,
// never the plain password. The receiver sets the hash and increments the
// version only if the account is still at expected_version, in one
// conditional write (UPDATE ... WHERE id = $1 AND version = $2). version is
// the account's optimistic-lock counter: the receiver must increment it on
// every change of the password or of the account made by any route, which
// is how passreset learns that what it read has changed.
//
// Idempotency: when the conditional write matches nothing, the receiver
// answers 200 with the current version if the account already holds exactly
// this password_hash at version expected_version+1: that is this same
// change, applied by an earlier attempt whose answer was lost. Hashes are
// salted, so no other change produces the same hash. Only otherwise is the
// answer 409 version_moved. A retry after a lost answer is therefore safe.
//
// End the account's sessions, POST {base}/accounts/end-sessions:
//
//	{"id": "u-123"}
//
//	200 {"ended": 2}                        how many it ended; 0 is no error
//
// Ending sessions that are already gone is no error, so this call is
// idempotent too.
//
// # Retries
//
// All three calls are idempotent by the rules above, so the client retries
// each, with the same webhook-id and the same body (and a fresh timestamp and
// signature), after a network error, an attempt's timeout, a 5xx or a 429,
// up to Config.Retries times with a doubling pause. Other 4xx, 3xx and 409
// are not retried. No attempt runs past the context's deadline less
// Config.DeadlineMargin, so a Lambda answers before its own timeout.
//
// Nothing the client returns carries a password hash, a secret, an email
// address or a body the hook answered.
package webhook
