-- Server signing keys (docs/api/signing.md#signing-keys): the Ed25519 keys that sign activation
-- tokens and license files. One key is active (it signs); retired keys only
-- verify what they signed. private_key holds the 32-byte Ed25519 seed
-- sealed with AES-256-GCM under a key derived from the instance secret
-- (package signing, seal.go), never the plain key.
CREATE TABLE signing_keys (
    id           bigserial   PRIMARY KEY,
    kid          text        NOT NULL UNIQUE,
    algorithm    text        NOT NULL DEFAULT 'ed25519' CHECK (algorithm = 'ed25519'),
    public_key   bytea       NOT NULL CHECK (octet_length(public_key) = 32),
    private_key  bytea       NOT NULL,
    status       text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    retired_at   timestamptz,
    CHECK ((status = 'retired') = (retired_at IS NOT NULL))
);

-- At most one active key, whatever nodes do at once: a second insert of an
-- active key conflicts instead of forking the key set.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (status) WHERE status = 'active';
