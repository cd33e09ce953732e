-- The internal API's and the console's activation state "heartbeat_missed"
-- (active, kept after a missed heartbeat): few rows, listed newest first.
CREATE INDEX activations_heartbeat_missed_idx ON activations (created_at DESC)
    WHERE is_active AND heartbeat_missed_at IS NOT NULL;
