-- Background work of docs/features.md (emails, logs and retention) and
-- docs/api/webhooks.md: the mail outbox, the customers' single-use tokens,
-- webhook deliveries and their attempts, and the expiry scan's record of what it
-- already announced.

-- Every email, queued in the transaction of the change that causes it and
-- sent by a River job (send_mail). With no SMTP server configured the job
-- leaves it in the outbox (status 'outbox') for the console to show.
-- The Message-ID header is derived from id and uid (package mail), so a
-- message sent again after a lost SMTP acknowledgement carries the same one.
CREATE TABLE mail_messages (
    id            bigserial   PRIMARY KEY,
    uid           uuid        NOT NULL DEFAULT gen_random_uuid() UNIQUE,
    kind          text        NOT NULL,
    from_address  text        NOT NULL,
    from_name     text        NOT NULL DEFAULT '',
    to_address    text        NOT NULL,
    to_name       text        NOT NULL DEFAULT '',
    subject       text        NOT NULL,
    html_body     text        NOT NULL,
    text_body     text        NOT NULL,
    status        text        NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'outbox', 'failed')),
    attempts      integer     NOT NULL DEFAULT 0,
    last_error    text,
    customer_id   bigint      REFERENCES customers (id) ON DELETE SET NULL,
    license_id    bigint      REFERENCES licenses (id) ON DELETE SET NULL,
    sent_at       timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_messages_created_at_idx ON mail_messages (created_at DESC, id DESC);
CREATE INDEX mail_messages_customer_idx ON mail_messages (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX mail_messages_license_idx ON mail_messages (license_id) WHERE license_id IS NOT NULL;

-- Email confirmation, password reset and set-password (welcome) links.
-- Only the SHA-256 of a token is stored; a token is used once and expires.
-- email is the address the link was sent to (an email change is confirmed
-- for that address).
CREATE TABLE customer_tokens (
    id           bigserial   PRIMARY KEY,
    customer_id  bigint      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    purpose      text        NOT NULL CHECK (purpose IN ('email_verification', 'password_reset', 'password_set')),
    token_hash   bytea       NOT NULL UNIQUE,
    email        citext      NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_tokens_outstanding_idx ON customer_tokens (customer_id, purpose) WHERE used_at IS NULL;
CREATE INDEX customer_tokens_expires_at_idx ON customer_tokens (expires_at);

-- One webhook event (docs/api/webhooks.md). id is the X-Webhook-Id header, the same on
-- every retry and re-send; body holds the exact bytes that are signed and
-- sent. round counts re-sends, so a job of an earlier round stands down.
CREATE TABLE webhook_deliveries (
    id                uuid        PRIMARY KEY,
    event             text        NOT NULL,
    url               text        NOT NULL,
    body              text        NOT NULL,
    license_id        bigint,
    license_code      text,
    product_name      text,
    status            text        NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    round             integer     NOT NULL DEFAULT 1,
    attempts          integer     NOT NULL DEFAULT 0,
    last_status_code  integer,
    last_duration_ms  integer,
    last_error        text,
    completed_at      timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_created_at_idx ON webhook_deliveries (created_at DESC, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event, created_at DESC);

-- Every attempt of a delivery: what was sent and what came back.
CREATE TABLE webhook_delivery_attempts (
    id                bigserial   PRIMARY KEY,
    delivery_id       uuid        NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt           integer     NOT NULL,
    url               text        NOT NULL,
    request_headers   jsonb       NOT NULL DEFAULT '{}',
    status_code       integer,
    duration_ms       integer     NOT NULL,
    response_headers  jsonb,
    response_body     text,
    error             text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_delivery_attempts_delivery_idx ON webhook_delivery_attempts (delivery_id, attempt);

-- What the expiry scan has announced: one row per license, kind, threshold
-- (days; 0 where none applies) and the date it is about (expires_at or
-- updates_until). The scan inserts with ON CONFLICT DO NOTHING RETURNING,
-- so whichever run or node inserts a row sends its email or event, once.
CREATE TABLE expiry_notices (
    license_id  bigint      NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    kind        text        NOT NULL CHECK (kind IN ('warning_email', 'expiring', 'expired', 'update_support_expired')),
    threshold   integer     NOT NULL DEFAULT 0,
    due_at      timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (license_id, kind, threshold, due_at)
);
CREATE INDEX expiry_notices_due_at_idx ON expiry_notices (due_at);

-- The scan walks licenses by date in keyset order.
CREATE INDEX licenses_expires_at_id_idx ON licenses (expires_at, id) WHERE expires_at IS NOT NULL;
CREATE INDEX licenses_updates_until_id_idx ON licenses (updates_until, id) WHERE updates_until IS NOT NULL;

-- Retention deletes failed activation attempts by age.
CREATE INDEX activations_failed_created_at_idx ON activations (created_at) WHERE NOT is_valid;
