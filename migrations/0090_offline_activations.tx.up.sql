-- Offline activations (docs/api/verifying.md#offline-activation): an
-- activation made from a machine's activation request pasted in the portal
-- or the console. The activation itself is an ordinary row of activations
-- (it takes a slot like any other); this row binds it to the machine's
-- fingerprint, keeps how long its license file is valid offline and when
-- the machine's release proof freed it.
CREATE TABLE offline_activations (
    activation_id bigint PRIMARY KEY REFERENCES activations (id) ON DELETE CASCADE,
    fingerprint text NOT NULL CHECK (length(fingerprint) BETWEEN 1 AND 128),
    requested_at timestamptz NOT NULL,
    valid_until timestamptz NOT NULL,
    released_at timestamptz
);
