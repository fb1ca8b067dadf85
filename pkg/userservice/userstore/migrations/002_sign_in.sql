ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'customer';

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    public_key  TEXT NOT NULL,
    sealed_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE TABLE login_failures (
    email_key TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX login_failures_by_email ON login_failures (email_key, at);
CREATE INDEX login_failures_by_time ON login_failures (at);
