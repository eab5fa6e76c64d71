-- The reference receiver's tables. A team keeping its users elsewhere maps
-- these columns onto its own; what matters is the rules they enforce.

CREATE TABLE IF NOT EXISTS users (
    id            text PRIMARY KEY,
    email         text NOT NULL,
    -- Lookups by email compare lower-cased addresses. Generated, so no
    -- route that changes the email can leave it stale.
    email_lower   text GENERATED ALWAYS AS (lower(email)) STORED,
    username      text,
    password_hash text NOT NULL,
    verified      boolean NOT NULL DEFAULT false,
    enabled       boolean NOT NULL DEFAULT true,
    -- The account's language for its mails ("de", "es-MX"); null: the
    -- request's Accept-Language, then passreset's DEFAULT_LANGUAGE.
    locale        text,
    -- The optimistic-lock counter of the protocol: every change of the
    -- password or of the account, by any route, must increment it; that is
    -- how passreset learns that an account changed after it read it.
    version       bigint NOT NULL DEFAULT 1,
    -- One account per address and per user name: a code must never be
    -- mailed for one of two accounts sharing them. The receiver still
    -- refuses more than one match ("ambiguous") for tables without these.
    CONSTRAINT users_email_lower_key UNIQUE (email_lower),
    CONSTRAINT users_username_key UNIQUE (username)
);

-- A users table created before the locale column.
ALTER TABLE users ADD COLUMN IF NOT EXISTS locale text;

CREATE TABLE IF NOT EXISTS sessions (
    id      text PRIMARY KEY,
    user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS sessions_user_id ON sessions (user_id);
