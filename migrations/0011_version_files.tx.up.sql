-- Version files (issue 8): each version's files, one per type (`main`,
-- `sql`, or a type a plugin registers), kept in storage by content. The
-- original upload name is what the version resource shows as main_file /
-- sql_file, so those columns move here.
CREATE TABLE version_files (
    id           bigserial PRIMARY KEY,
    version_id   bigint      NOT NULL REFERENCES product_versions (id) ON DELETE CASCADE,
    type         text        NOT NULL CHECK (type ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
    -- The upload's own base name, for display and the resource only: it
    -- never reaches a file system.
    file_name    text        NOT NULL,
    -- The storage key: the hex SHA-256 of the content. Two versions with the
    -- same bytes share one stored file.
    storage_key  text        NOT NULL CHECK (storage_key ~ '^[0-9a-f]{64}$'),
    sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size         bigint      NOT NULL CHECK (size >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (version_id, type)
);
-- Deleting a version frees its stored files only when no other row uses them.
CREATE INDEX version_files_storage_key ON version_files (storage_key);

ALTER TABLE product_versions DROP COLUMN main_file, DROP COLUMN sql_file;

-- Newest-first listings and the portal's "latest published" read a
-- product's versions; the UNIQUE (product_id, version) index serves both.
