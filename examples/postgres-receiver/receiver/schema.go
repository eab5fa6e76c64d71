package receiver

import _ "embed"

// Schema is schema.sql: the receiver's tables, created if missing. Run it
// on the database (psql -f schema.sql) before the receiver's first call.
//
//go:embed schema.sql
var Schema string
