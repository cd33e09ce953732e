-- Version files whose checksum and size are not known yet (issue 8): rows
-- imported from an older install, whose files were copied into storage by
-- key without them. `licensor versions backfill-checksums` computes both
-- from the stored file; until then the API omits checksum and file_size
-- (docs/api/conventions.md#responses) and the downloads take the size from storage.
ALTER TABLE version_files ALTER COLUMN sha256 DROP NOT NULL, ALTER COLUMN size DROP NOT NULL;
CREATE INDEX version_files_unchecked ON version_files (storage_key) WHERE sha256 IS NULL OR size IS NULL;
