-- Update delivery (issue 8): trusted release keys and version signatures
-- (docs/api/signing.md#release-integrity), download links
-- (docs/api/external.md#download-links, docs/api/internal.md#downloads) and the
-- update-download log (docs/api/external.md#download,
-- docs/features.md#updates-and-downloads).

-- Public halves of the vendor's Ed25519 release keys, added and revoked in
-- settings → updates. A revoked key stays listed (and keeps its id) so the
-- console shows what it signed; it no longer verifies anything.
CREATE TABLE release_keys (
    id          bigserial PRIMARY KEY,
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    -- First 16 hex characters of SHA-256 of the raw public key (docs/api/signing.md#signing-keys).
    key_id      text        NOT NULL UNIQUE CHECK (key_id ~ '^[0-9a-f]{16}$'),
    public_key  bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- The signed manifest of a version's main file, as uploaded
-- (docs/api/signing.md#release-integrity). One per version; it goes with the
-- version.
CREATE TABLE version_signatures (
    version_id  bigint      PRIMARY KEY REFERENCES product_versions (id) ON DELETE CASCADE,
    key_id      text        NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    signature   text        NOT NULL,
    manifest    text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Download links for buyers' first download. Only the SHA-256 of the token
-- is kept (docs/api/internal.md#downloads: "stored hashed and shown only here"). downloads never
-- passes max_downloads: the counter is raised by
-- UPDATE … WHERE downloads < max_downloads, which PostgreSQL serialises per
-- row, so a cap of N allows exactly N downloads under any concurrency.
CREATE TABLE download_tokens (
    id             bigserial PRIMARY KEY,
    token_hash     text        NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    product_id     bigint      NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version_id     bigint      NOT NULL REFERENCES product_versions (id) ON DELETE CASCADE,
    type           text        NOT NULL,
    max_downloads  integer     CHECK (max_downloads > 0),
    downloads      integer     NOT NULL DEFAULT 0 CHECK (downloads >= 0),
    expires_at     timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (max_downloads IS NULL OR downloads <= max_downloads)
);

-- Every update-download attempt, valid or refused (refused ones when
-- add_entries_for_failed_update_download_attempts is on). Product, version
-- and license may go away; the row keeps what was asked for.
CREATE TABLE download_logs (
    id             bigserial PRIMARY KEY,
    download_id    text        NOT NULL UNIQUE,
    source         text        NOT NULL CHECK (source IN ('api', 'link', 'internal', 'portal')),
    product_id     bigint      REFERENCES products (id) ON DELETE CASCADE,
    version_id     bigint      REFERENCES product_versions (id) ON DELETE SET NULL,
    version        text        NOT NULL DEFAULT '',
    type           text        NOT NULL,
    url            text,
    domain         text,
    ip             text,
    user_agent     text,
    license_id     bigint      REFERENCES licenses (id) ON DELETE SET NULL,
    license_code   text,
    is_valid       boolean     NOT NULL,
    -- Why a refused attempt was refused (e.g. LICENSE_EXPIRED); null when valid.
    reason         text,
    downloaded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX download_logs_downloaded_at_idx ON download_logs (downloaded_at DESC, id DESC);
CREATE INDEX download_logs_product_idx ON download_logs (product_id, downloaded_at DESC);
-- The auto-blacklist counts refused downloads per domain and IP.
CREATE INDEX download_logs_refused_idx ON download_logs (downloaded_at) WHERE NOT is_valid;
