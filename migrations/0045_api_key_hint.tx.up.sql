-- Issue 15.16: keys were shown by their first 6 characters (an 8-character
-- custom key all but two). The column now holds a hint of the last 4
-- characters of a key of at least 32; the stored prefixes are dropped, as
-- the hint of an existing key cannot be computed from its hash.
ALTER TABLE api_keys RENAME COLUMN key_prefix TO key_hint;
UPDATE api_keys SET key_hint = '';
