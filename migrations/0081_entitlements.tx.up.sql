-- Entitlements (docs/licensing.md#entitlements): a product names the
-- features its licenses may unlock (entitlements) and the ones a new license
-- gets (default_entitlements, a subset); a license carries its own set,
-- returned by verify and activate and signed into tokens and license files.
-- Arrays rather than a join table: verify reads them with the license row it
-- already reads, and a set has at most a hundred short names.
ALTER TABLE products
    ADD COLUMN entitlements text[] NOT NULL DEFAULT '{}',
    ADD COLUMN default_entitlements text[] NOT NULL DEFAULT '{}';
ALTER TABLE licenses ADD COLUMN entitlements text[] NOT NULL DEFAULT '{}';
-- "has entitlement X" filters of the console.
CREATE INDEX licenses_entitlements_idx ON licenses USING gin (entitlements);

-- Verify answers a license's entitlements from each node's activation cache
-- (migration 0023): a change to them must drop the cached entries too.
DROP TRIGGER licenses_verify_notify_update ON licenses;
CREATE TRIGGER licenses_verify_notify_update
    AFTER UPDATE ON licenses FOR EACH ROW
    WHEN (OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.entitlements IS DISTINCT FROM NEW.entitlements)
    EXECUTE FUNCTION licensor_verify_notify();
