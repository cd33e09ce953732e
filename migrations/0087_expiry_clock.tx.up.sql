-- Expiry clock (docs/licensing.md#expiry-clock): a license's expiry_days
-- start counting at its creation, its first activation (as before) or its
-- first verify; products give the default. expiry_started_at is when the
-- clock started (null: not started, or a fixed expires_at set by hand).
ALTER TABLE products
    ADD COLUMN default_expiry_start text NOT NULL DEFAULT 'first_activation'
        CHECK (default_expiry_start IN ('creation', 'first_activation', 'first_verify'));
ALTER TABLE licenses
    ADD COLUMN expiry_start text NOT NULL DEFAULT 'first_activation'
        CHECK (expiry_start IN ('creation', 'first_activation', 'first_verify')),
    ADD COLUMN expiry_started_at timestamptz;

-- Licenses whose clock already ran started it at their first activation.
UPDATE licenses AS l SET expiry_started_at = (
        SELECT min(a.activated_at) FROM activations AS a WHERE a.license_id = l.id AND a.is_valid)
    WHERE l.expiry_days > 0 AND l.expires_at IS NOT NULL;

-- The console's "expiry clock not started" filter.
CREATE INDEX licenses_clock_pending_idx ON licenses (created_at DESC) WHERE expires_at IS NULL AND expiry_days > 0;

-- Verify reads whether the clock waits for it (expiry_start, expiry_days)
-- from each node's activation cache: a change to them drops the entries.
DROP TRIGGER licenses_verify_notify_update ON licenses;
CREATE TRIGGER licenses_verify_notify_update
    AFTER UPDATE ON licenses FOR EACH ROW
    WHEN (OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.entitlements IS DISTINCT FROM NEW.entitlements
       OR OLD.expiry_days IS DISTINCT FROM NEW.expiry_days
       OR OLD.expiry_start IS DISTINCT FROM NEW.expiry_start)
    EXECUTE FUNCTION licensor_verify_notify();
