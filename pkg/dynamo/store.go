// Package dynamo is the reset flows' store on DynamoDB: accounts in the
// users table, and codes, links and counters in the tokens table.
//
// Every limit is enforced by a condition expression, never by a read
// followed by a write, so it holds under any concurrency; every condition
// compares expiry times itself, because TTL deletes items lazily (hours to
// days late). ConditionalCheckFailedException and TransactionCanceledException
// become the sentinels of package reset here; nothing above sees SDK types.
package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/passreset/passreset/pkg/reset"
)

// API is the part of the DynamoDB client the store calls.
type API interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

// UsersTable names the users table and the attributes the store reads and
// writes, so that a team's existing table works without a migration.
type UsersTable struct {
	Name string
	// KeyAttribute is the table's partition key (a string).
	KeyAttribute string
	// EmailIndex is a global secondary index keyed on EmailAttribute.
	EmailIndex string
	// UsernameIndex is a global secondary index keyed on UsernameAttribute;
	// empty when accounts have no user names.
	UsernameIndex string

	EmailAttribute             string // holds the lower-cased address
	UsernameAttribute          string
	PasswordAttribute          string // argon2id PHC or bcrypt string
	SessionVersionAttribute    string // a number; bumped by every password change
	PasswordChangedAtAttribute string // RFC 3339, UTC
	VerifiedAttribute          string // empty: every account counts as verified
	EnabledAttribute           string // empty: every account counts as enabled
	// LanguageAttribute holds the account's language for its mails ("de",
	// "es-MX"), a string; empty: accounts have none. Read with the rest of
	// a lookup, so the email index must project it.
	LanguageAttribute string
}

// DefaultUsersTable is the layout of the users table template.yaml creates.
func DefaultUsersTable(name string) UsersTable {
	return UsersTable{
		Name:                       name,
		KeyAttribute:               "user_id",
		EmailIndex:                 "email-index",
		UsernameIndex:              "username-index",
		EmailAttribute:             "email",
		UsernameAttribute:          "username",
		PasswordAttribute:          "password_hash",
		SessionVersionAttribute:    "session_version",
		PasswordChangedAtAttribute: "password_changed_at",
		VerifiedAttribute:          "verified",
		EnabledAttribute:           "enabled",
		LanguageAttribute:          "locale",
	}
}

// Store implements reset.Store.
type Store struct {
	db     API
	tokens string
	users  UsersTable
}

var _ reset.Store = (*Store)(nil)

// New returns a Store over db with the given tokens table and users table.
func New(db API, tokensTable string, users UsersTable) *Store {
	return &Store{db: db, tokens: tokensTable, users: users}
}

// Attributes of the tokens table. Times are Unix seconds.
const (
	attrPK        = "pk"
	attrExpiresAt = "expires_at" // the table's TTL attribute

	// Sliding windows (see window): the prefixes of their places.
	windowRequests = "req"    // per-IP counters ("ip#<purpose>#<ip>")
	windowSends    = "sent"   // mails, on a name's item and on its owner's
	windowFailures = "failed" // wrong guesses, likewise

	// per-name state ("acct#<subject>"): what the caller can see the
	// effects of, kept under the keyed hash of the name asked for
	attrLastSentAt    = "last_sent_at"
	attrCodeID        = "code_id"
	attrCodeHash      = "code_hash"
	attrCodeKeyID     = "code_kid"
	attrCodeExpiresAt = "code_expires_at"
	attrAttempts      = "attempts"
	attrCodeSV        = "code_sv"
	attrAccountID     = "account_id"
	attrDevice        = "device"
	attrOwner         = "owner"     // the key of the owner item, below
	attrRecipient     = "recipient" // keyed hash of the address mailed
	attrLinkHash      = "link_hash" // the name's newest link, for withdrawing it
	// until when a two-phase reset (ClaimCode, reset/complete.go) holds
	// the name's code: one of the code's fields, so whatever removes or
	// replaces the code removes its claim
	attrCodeClaimedUntil = "code_claimed_until"

	// per-account state ("owner#<owner>"): the account-wide rules, whose
	// effects no answer shows (see reset.Service.owner)
	attrLatest   = "latest"    // id of the account's one live code or link
	attrNoticeAt = "notice_at" // when the owner was last told of guessing

	// links ("link#<sha256>"), which expire by attrExpiresAt itself
	attrSubject = "subject"
	attrLinkSV  = "sv"
	// until when a two-phase reset (ClaimLink) holds the link
	attrLinkClaimedUntil = "claimed_until"

	// receipts ("done#<of>", receipts.go) of completed resets
	attrReceiptKeyID    = "kid"
	attrReceiptRecordID = "record_id"
	attrReceiptMAC      = "mac"
	attrReceiptUntil    = "until"
)

// stateLifetime is how long an account's state item must outlive its last
// write: the longest window it holds, the daily failure budget.
const stateLifetime = 25 * time.Hour

func ipKey(purpose, ip string) string  { return "ip#" + purpose + "#" + ip }
func stateKey(subject string) string   { return "acct#" + subject }
func ownerKey(owner string) string     { return "owner#" + owner }
func linkKey(h reset.TokenHash) string { return "link#" + string(h) }
func receiptKey(of string) string      { return "done#" + of }

func unix(t time.Time) int64 { return t.Unix() }
