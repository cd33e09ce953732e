-- Grace period (docs/api/external.md#grace-period): for grace_days after a
-- license's expires_at, verify on the modern path answers status true with
-- LICENSE_IN_GRACE, so apps can warn instead of stopping. Null or 0: none.
ALTER TABLE products ADD COLUMN grace_days integer CHECK (grace_days >= 0);
