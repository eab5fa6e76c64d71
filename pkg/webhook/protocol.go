package webhook

// The protocol's bodies, JSON on the wire, shared by the client and by a
// receiver written in Go (examples/postgres-receiver), so the two cannot
// drift. The package doc says what each call means.

// Account is an account as the hook answers it.
type Account struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Username string `json:"username"`
	Verified bool   `json:"verified"`
	Enabled  bool   `json:"enabled"`
	// Version is the account's optimistic-lock counter, to be passed back
	// as SetPassword's expectedVersion.
	Version int64 `json:"version"`
	// PasswordHash is set by AccountByID only.
	PasswordHash string `json:"password_hash,omitempty"`
	// Locale is the account's language for its mails ("de", "es-MX"),
	// absent or null when it has none: the mail then follows the
	// request's Accept-Language, then DEFAULT_LANGUAGE.
	Locale string `json:"locale,omitempty"`
}

// LookupRequest is the body of a lookup (PathLookup): By is LookupByEmail,
// LookupByUsername or LookupByID.
type LookupRequest struct {
	By    string `json:"by"`
	Value string `json:"value"`
}

// LookupAnswer is a lookup's 200: Account is nil for no account.
type LookupAnswer struct {
	Account *Account `json:"account"`
}

// SetPasswordRequest is the body of a set-password (PathSetPassword).
type SetPasswordRequest struct {
	ID              string `json:"id"`
	PasswordHash    string `json:"password_hash"`
	ExpectedVersion int64  `json:"expected_version"`
}

// SetPasswordAnswer is a set-password's 200: the account's new version.
// A pointer, so that a receiver that sends none is caught.
type SetPasswordAnswer struct {
	Version *int64 `json:"version"`
}

// EndSessionsRequest is the body of an end-sessions (PathEndSessions).
type EndSessionsRequest struct {
	ID string `json:"id"`
}

// EndSessionsAnswer is an end-sessions' 200: how many sessions ended.
type EndSessionsAnswer struct {
	Ended int64 `json:"ended"`
}

// ErrorAnswer is the body of an answer that is not a 2xx: a word saying
// why. A 409's are ConflictAmbiguous and ConflictVersionMoved; the client
// reads no other.
type ErrorAnswer struct {
	Error string `json:"error"`
}
