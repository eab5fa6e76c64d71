// Package receiver is the reference receiver of passreset's account hook
// (pkg/webhook) on PostgreSQL: an http.Handler answering the three signed
// calls from the tables of Schema. The command in the directory above serves
// it; passreset's end-to-end tests serve it in-process (pkg/apptest).
package receiver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/passreset/passreset/pkg/webhook"
)

// maxBody is the most of a request read: the protocol's are a few hundred
// bytes.
const maxBody = 64 << 10

// receiver answers passreset's three calls from PostgreSQL.
type receiver struct {
	db      *pgxpool.Pool
	secrets []webhook.Secret
	now     func() time.Time
	log     *slog.Logger
}

// answer is a status and the JSON body to send with it.
type answer struct {
	status int
	body   any
}

func ok(body any) answer { return answer{http.StatusOK, body} }

func refuse(status int, word string) answer {
	return answer{status, webhook.ErrorAnswer{Error: word}}
}

// New serves the protocol of pkg/webhook from db, whose tables are Schema's:
// every request's Standard Webhooks signature is checked against secrets
// (more than one while rotating) at the time now gives, before anything is
// read from the database. Why a call was refused or failed goes to log.
func New(db *pgxpool.Pool, secrets []webhook.Secret, now func() time.Time, log *slog.Logger) http.Handler {
	r := &receiver{db: db, secrets: secrets, now: now, log: log}
	mux := http.NewServeMux()
	mux.Handle("POST "+webhook.PathLookup, r.signed("lookup", r.lookup))
	mux.Handle("POST "+webhook.PathSetPassword, r.signed("set-password", r.setPassword))
	mux.Handle("POST "+webhook.PathEndSessions, r.signed("end-sessions", r.endSessions))
	return mux
}

// signed verifies a request and hands its body to call. A bad signature, a
// timestamp outside the window or a changed body is 401 and touches
// nothing; why goes to the log, never to the caller.
func (r *receiver) signed(name string, call func(ctx context.Context, body []byte) (answer, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
		if err != nil {
			write(w, refuse(http.StatusRequestEntityTooLarge, "too_large"))
			return
		}
		if err := webhook.Verify(r.secrets, req.Header, body, r.now()); err != nil {
			r.log.Warn("refused an unsigned call", "call", name, "reason", err)
			write(w, refuse(http.StatusUnauthorized, "unauthorized"))
			return
		}
		a, err := call(req.Context(), body)
		if err != nil {
			r.log.Error("call failed", "call", name, "webhook_id", req.Header.Get(webhook.HeaderID), "err", err)
			write(w, refuse(http.StatusInternalServerError, "internal"))
			return
		}
		write(w, a)
	})
}

func write(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	// The status is sent; a client gone away is nothing to answer.
	json.NewEncoder(w).Encode(a.body) //nolint:errcheck
}

var badRequest = refuse(http.StatusBadRequest, "bad_request")

// lookupWhere is each lookup's condition. By email it compares lower-cased
// addresses on the indexed generated column.
var lookupWhere = map[string]string{
	webhook.LookupByEmail:    "email_lower = lower($1)",
	webhook.LookupByUsername: "username = $1",
	webhook.LookupByID:       "id = $1",
}

func (r *receiver) lookup(ctx context.Context, body []byte) (answer, error) {
	var req webhook.LookupRequest
	if json.Unmarshal(body, &req) != nil || req.Value == "" {
		return badRequest, nil
	}
	where, known := lookupWhere[req.By]
	if !known {
		return badRequest, nil
	}
	// LIMIT 2: one row more than an answer needs tells "ambiguous" apart
	// from a match, on a table whose constraints do not rule it out.
	rows, err := r.db.Query(ctx, `SELECT id, email, coalesce(username, ''), verified, enabled, version, password_hash, coalesce(locale, '')
		FROM users WHERE `+where+` LIMIT 2`, req.Value)
	if err != nil {
		return answer{}, err
	}
	found, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (webhook.Account, error) {
		var a webhook.Account
		err := row.Scan(&a.ID, &a.Email, &a.Username, &a.Verified, &a.Enabled, &a.Version, &a.PasswordHash, &a.Locale)
		return a, err
	})
	if err != nil {
		return answer{}, err
	}
	switch len(found) {
	case 0:
		// Not found is an answer (200), never a 404: a 404 is what a wrong
		// URL gets, and passreset must not take it for "no such account".
		return ok(webhook.LookupAnswer{}), nil
	case 1:
	default:
		return refuse(http.StatusConflict, webhook.ConflictAmbiguous), nil
	}
	acct := found[0]
	if req.By != webhook.LookupByID {
		// The hash goes out only for the lookup by id, which passreset
		// makes to refuse the current password as the new one.
		acct.PasswordHash = ""
	}
	return ok(webhook.LookupAnswer{Account: &acct}), nil
}

func (r *receiver) setPassword(ctx context.Context, body []byte) (answer, error) {
	var req webhook.SetPasswordRequest
	if json.Unmarshal(body, &req) != nil || req.ID == "" || req.PasswordHash == "" {
		return badRequest, nil
	}
	// The rule is in the condition: the password changes only if the
	// account is still the one passreset read. Of any number of racing
	// calls with the same expected version, one matches the row and
	// increments the version; the others find it moved.
	var version int64
	err := r.db.QueryRow(ctx, `UPDATE users SET password_hash = $2, version = version + 1
		WHERE id = $1 AND version = $3 RETURNING version`,
		req.ID, req.PasswordHash, req.ExpectedVersion).Scan(&version)
	if err == nil {
		return ok(webhook.SetPasswordAnswer{Version: &version}), nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return answer{}, err
	}
	// Nothing matched. If the account holds exactly this hash one version
	// on, this is a repeat of a change already applied whose answer was
	// lost: answered as applied, so passreset's retry is safe. Hashes are
	// salted, so no other change leaves the same one.
	var same bool
	err = r.db.QueryRow(ctx, `SELECT version, password_hash = $2 FROM users WHERE id = $1`,
		req.ID, req.PasswordHash).Scan(&version, &same)
	switch {
	case err == nil && same && version == req.ExpectedVersion+1:
		return ok(webhook.SetPasswordAnswer{Version: &version}), nil
	case err == nil, errors.Is(err, pgx.ErrNoRows):
		// Changed elsewhere, or gone: either way not the account read.
		return refuse(http.StatusConflict, webhook.ConflictVersionMoved), nil
	default:
		return answer{}, err
	}
}

func (r *receiver) endSessions(ctx context.Context, body []byte) (answer, error) {
	var req webhook.EndSessionsRequest
	if json.Unmarshal(body, &req) != nil || req.ID == "" {
		return badRequest, nil
	}
	// Deleting what is already gone deletes nothing and is no error, so a
	// repeat is harmless.
	tag, err := r.db.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, req.ID)
	if err != nil {
		return answer{}, err
	}
	return ok(webhook.EndSessionsAnswer{Ended: tag.RowsAffected()}), nil
}
