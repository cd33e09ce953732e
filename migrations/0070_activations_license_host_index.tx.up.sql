-- Verify by license code (the LicenseBox-era form most deployed clients use)
-- and deactivate by code look up a license's valid activations of a product
-- on the caller's host (app/licensing codeStateSQL). Without an index whose
-- leading columns are those equalities, the plan depends on statistics: with
-- none (right after a bulk import, or autovacuum off) PostgreSQL read the
-- product's whole activations_product_id_idx, 18.7 ms at 52,000 activations.
-- With this one every plan is a few index entries, at any table size.
CREATE INDEX activations_license_host_idx
    ON activations (license_id, product_id, (coalesce(domain, '')))
    WHERE is_valid;
