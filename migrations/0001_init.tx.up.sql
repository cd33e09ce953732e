-- Foundation: admin accounts, shared key/value storage (sessions, CSRF,
-- CAPTCHA answers), rate-limit counters, API keys and admin sign-in history.

CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE admins (
    id              bigserial PRIMARY KEY,
    name            text        NOT NULL,
    email           citext      NOT NULL UNIQUE,
    password_hash   text        NOT NULL,
    role            text        NOT NULL DEFAULT 'administrator',
    last_login_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Backing store for Fiber's session, CSRF and limiter middleware, so every
-- node sees the same state. Expired rows are pruned by a periodic job.
CREATE TABLE kv_store (
    key         text PRIMARY KEY,
    value       bytea       NOT NULL,
    expires_at  timestamptz
);
CREATE INDEX kv_store_expires_at_idx ON kv_store (expires_at) WHERE expires_at IS NOT NULL;

-- Fixed-window counters shared by all nodes (sign-in throttling, API limits).
CREATE TABLE rate_limits (
    bucket        text        NOT NULL,
    window_start  timestamptz NOT NULL,
    hits          integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, window_start)
);
CREATE INDEX rate_limits_window_start_idx ON rate_limits (window_start);

CREATE TABLE api_keys (
    id            bigserial PRIMARY KEY,
    name          text        NOT NULL,
    type          text        NOT NULL CHECK (type IN ('external', 'internal')),
    key_hash      bytea       NOT NULL UNIQUE,
    key_prefix    text        NOT NULL DEFAULT '',
    scopes        text[]      NOT NULL DEFAULT '{}',
    special       boolean     NOT NULL DEFAULT false,
    revoked       boolean     NOT NULL DEFAULT false,
    expires_at    timestamptz,
    last_used_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE admin_logins (
    id          bigserial PRIMARY KEY,
    admin_id    bigint REFERENCES admins (id) ON DELETE CASCADE,
    email       text        NOT NULL,
    ip          text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    success     boolean     NOT NULL,
    reason      text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_logins_admin_id_idx ON admin_logins (admin_id, created_at DESC);
CREATE INDEX admin_logins_created_at_idx ON admin_logins (created_at);
