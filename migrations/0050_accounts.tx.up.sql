-- Admin accounts, roles, sessions and two-factor sign-in (issue 19).

-- Roles: the four built-in ones (their permissions are defined in code, in
-- app/admins/permissions.go, so a new permission reaches them without a
-- migration) and custom roles, whose permissions are stored here.
CREATE TABLE admin_roles (
    id          bigserial   PRIMARY KEY,
    builtin     text        UNIQUE CHECK (builtin IN ('owner', 'administrator', 'support', 'read_only')),
    name        citext      NOT NULL UNIQUE,
    description text        NOT NULL DEFAULT '',
    permissions text[]      NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO admin_roles (builtin, name, description) VALUES
    ('owner', 'Owner', 'Everything, including admin users, roles and signing keys.'),
    ('administrator', 'Administrator', 'Everything but admin users and roles.'),
    ('support', 'Support', 'Customers and licenses: view, create, edit, send email; deactivate activations.'),
    ('read_only', 'Read-only', 'Views everything that is not secret; changes nothing.');

-- Every admin so far had every permission: they become owners.
ALTER TABLE admins ADD COLUMN role_id bigint REFERENCES admin_roles (id);
UPDATE admins SET role_id = (SELECT id FROM admin_roles WHERE builtin = 'owner');
ALTER TABLE admins ALTER COLUMN role_id SET NOT NULL;
ALTER TABLE admins DROP COLUMN role;
CREATE INDEX admins_role_id_idx ON admins (role_id);
-- An invited admin has no password until the invitation link is used.
ALTER TABLE admins ALTER COLUMN password_hash DROP NOT NULL;
ALTER TABLE admins ADD COLUMN invited_at  timestamptz;
ALTER TABLE admins ADD COLUMN disabled_at timestamptz;
ALTER TABLE admins ADD COLUMN avatar_path text;

-- Single-use links of admins: the invitation (sets the first password),
-- the password reset, the confirmation of a new email address. Stored as
-- SHA-256 only.
CREATE TABLE admin_tokens (
    id          bigserial   PRIMARY KEY,
    admin_id    bigint      NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    purpose     text        NOT NULL CHECK (purpose IN ('invitation', 'password_reset', 'email_change')),
    token_hash  bytea       NOT NULL UNIQUE,
    email       citext      NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admin_tokens_outstanding_idx ON admin_tokens (admin_id, purpose) WHERE used_at IS NULL;
CREATE INDEX admin_tokens_expires_at_idx ON admin_tokens (expires_at);

-- Signed-in sessions of admins and customers. The browser's session (the
-- cookie and its data in kv_store) holds the row's id; the row is what
-- makes it signed in, so deleting a row signs that browser out on every
-- node. Idle and absolute lifetimes are checked against last_seen_at and
-- created_at on the database clock.
CREATE TABLE sessions (
    id           bigserial   PRIMARY KEY,
    admin_id     bigint      REFERENCES admins (id) ON DELETE CASCADE,
    customer_id  bigint      REFERENCES customers (id) ON DELETE CASCADE,
    remember     boolean     NOT NULL DEFAULT false,
    ip           text        NOT NULL DEFAULT '',
    user_agent   text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(admin_id, customer_id) = 1)
);
CREATE INDEX sessions_admin_id_idx ON sessions (admin_id) WHERE admin_id IS NOT NULL;
CREATE INDEX sessions_customer_id_idx ON sessions (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX sessions_last_seen_at_idx ON sessions (last_seen_at);

-- Session rows replace the per-customer epochs of migration 0006.
DROP TABLE customer_session_epochs;

-- TOTP (RFC 6238) of an admin or a customer: the secret sealed with the
-- instance secret; confirmed_at NULL while enrolment waits for its first
-- code; last_step is the time step of the last code accepted, so no code
-- is accepted twice.
CREATE TABLE two_factor (
    id           bigserial   PRIMARY KEY,
    admin_id     bigint      UNIQUE REFERENCES admins (id) ON DELETE CASCADE,
    customer_id  bigint      UNIQUE REFERENCES customers (id) ON DELETE CASCADE,
    secret       bytea       NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint      NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(admin_id, customer_id) = 1)
);

-- Ten single-use recovery codes per confirmed enrolment, stored as SHA-256.
CREATE TABLE two_factor_recovery_codes (
    id            bigserial   PRIMARY KEY,
    two_factor_id bigint      NOT NULL REFERENCES two_factor (id) ON DELETE CASCADE,
    code_hash     bytea       NOT NULL,
    used_at       timestamptz,
    UNIQUE (two_factor_id, code_hash)
);
