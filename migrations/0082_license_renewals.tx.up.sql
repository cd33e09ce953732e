-- Renewals on the same key (docs/licensing.md#renewals): each renewal of a
-- license, what it extended and who did it, for the license page, the portal
-- and the license.renewed webhook. The license row itself keeps its code,
-- its activations and its history.
CREATE TABLE license_renewals (
    id              bigserial PRIMARY KEY,
    license_id      bigint NOT NULL REFERENCES licenses (id) ON DELETE CASCADE,
    days            integer NOT NULL CHECK (days > 0),
    expires_before  timestamptz,
    expires_after   timestamptz,
    updates_before  timestamptz,
    updates_after   timestamptz,
    actor_type      text NOT NULL,
    actor_name      text NOT NULL DEFAULT '',
    renewed_at      timestamptz NOT NULL
);
CREATE INDEX license_renewals_license_idx ON license_renewals (license_id, renewed_at DESC);
