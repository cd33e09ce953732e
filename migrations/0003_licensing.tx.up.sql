-- The licensing core: customers, products, versions, licenses, activations,
-- run-time settings and the activity log. Case-insensitive identifiers are
-- citext so uniqueness and lookups ignore case with a plain index.

CREATE TABLE customers (
    id             bigserial PRIMARY KEY,
    name           text        NOT NULL,
    email          citext      NOT NULL UNIQUE,
    password_hash  text,
    client_id      citext      NOT NULL UNIQUE,
    avatar_path    text,
    confirmed_at   timestamptz,
    last_login_at  timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customers_created_at_idx ON customers (created_at DESC, id DESC);

CREATE TABLE products (
    id                          bigserial PRIMARY KEY,
    name                        text        NOT NULL,
    reference_id                citext      NOT NULL UNIQUE,
    envato_id                   text,
    description                 text,
    license_update              boolean     NOT NULL DEFAULT false,
    serve_latest_updates        boolean     NOT NULL DEFAULT true,
    is_active                   boolean     NOT NULL DEFAULT true,
    default_license_type        text,
    default_uses                integer CHECK (default_uses >= 0),
    default_parallel_uses       integer CHECK (default_parallel_uses >= 0),
    default_expiry_days         integer CHECK (default_expiry_days >= 0),
    default_updates_until_days  integer CHECK (default_updates_until_days >= 0),
    default_support_until_days  integer CHECK (default_support_until_days >= 0),
    default_comments            text,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);

-- Version fields only; files and downloads are served by the updates work.
CREATE TABLE product_versions (
    id            bigserial PRIMARY KEY,
    product_id    bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version_id    citext      NOT NULL UNIQUE,
    version       citext      NOT NULL,
    released_at   timestamptz NOT NULL DEFAULT now(),
    summary       text,
    changelog     text,
    main_file     text,
    sql_file      text,
    is_active     boolean     NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, version)
);

CREATE TABLE licenses (
    id                 bigserial PRIMARY KEY,
    product_id         bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    license_code       citext      NOT NULL UNIQUE,
    type               text,
    customer_id        citext,
    email              citext,
    invoice            text,
    uses               integer CHECK (uses >= 0),
    parallel_uses      integer CHECK (parallel_uses >= 0),
    expires_at         timestamptz,
    expiry_days        integer CHECK (expiry_days >= 0),
    updates_until      timestamptz,
    support_until      timestamptz,
    domains            text[]      NOT NULL DEFAULT '{}',
    ips                text[]      NOT NULL DEFAULT '{}',
    comments           text,
    is_valid           boolean     NOT NULL DEFAULT true,
    is_envato          boolean     NOT NULL DEFAULT false,
    -- Successful activations ever, kept in the activation transaction so the
    -- `uses` check needs no count.
    total_activations  integer     NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX licenses_product_id_idx ON licenses (product_id, id DESC);
-- The linking rule: by client id, else (no customer_id) by email.
CREATE INDEX licenses_customer_id_idx ON licenses (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX licenses_email_unlinked_idx ON licenses (email) WHERE customer_id IS NULL;
CREATE INDEX licenses_expires_at_idx ON licenses (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX licenses_created_at_idx ON licenses (created_at DESC, id DESC);

CREATE TABLE activations (
    id                bigserial PRIMARY KEY,
    license_id        bigint REFERENCES licenses (id) ON DELETE CASCADE,
    product_id        bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    license_code      text        NOT NULL,
    client_name       text,
    url               text,
    domain            text,
    ip                text,
    user_agent        text,
    is_valid          boolean     NOT NULL DEFAULT true,
    is_active         boolean     NOT NULL DEFAULT true,
    failure_reason    text,
    activated_at      timestamptz NOT NULL DEFAULT now(),
    deactivated_at    timestamptz,
    last_verified_at  timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (is_valid OR NOT is_active)
);
-- Slot counting and deactivate-oldest read only the active rows of a license.
CREATE INDEX activations_license_active_idx ON activations (license_id, activated_at, id) WHERE is_active;
CREATE INDEX activations_license_id_idx ON activations (license_id, id DESC);
CREATE INDEX activations_product_id_idx ON activations (product_id, id DESC);
CREATE INDEX activations_created_at_idx ON activations (created_at DESC, id DESC);
-- The auto-blacklist counts recent failures per domain and per IP.
CREATE INDEX activations_failed_domain_idx ON activations (domain, created_at) WHERE NOT is_valid;
CREATE INDEX activations_failed_ip_idx ON activations (ip, created_at) WHERE NOT is_valid;

-- Run-time settings (docs/configuration.md#run-time-settings). Absent keys take
-- their defaults in code. Every change notifies the other nodes, which drop
-- their cached copy.
CREATE TABLE settings (
    key         text PRIMARY KEY,
    value       jsonb       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE FUNCTION settings_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('licensor_settings', COALESCE(NEW.key, OLD.key));
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER settings_changed AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH ROW EXECUTE FUNCTION settings_notify();

CREATE TABLE activity_log (
    id            bigserial PRIMARY KEY,
    type          text        NOT NULL,
    actor_type    text        NOT NULL CHECK (actor_type IN ('admin', 'api_key', 'customer', 'system')),
    actor_id      bigint,
    actor_name    text        NOT NULL DEFAULT '',
    ip            text,
    subject_type  text,
    subject_id    bigint,
    message       text        NOT NULL,
    data          jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX activity_log_created_at_idx ON activity_log (created_at DESC, id DESC);
CREATE INDEX activity_log_subject_idx ON activity_log (subject_type, subject_id, created_at DESC);
CREATE INDEX activity_log_type_idx ON activity_log (type, created_at DESC);

CREATE TABLE customer_activity (
    id           bigserial PRIMARY KEY,
    customer_id  bigint      NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type         text        NOT NULL,
    ip           text,
    data         jsonb,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_activity_customer_idx ON customer_activity (customer_id, created_at DESC);
