-- Heartbeats, automatic release and floating seats
-- (docs/licensing.md#heartbeats-and-automatic-release,
-- docs/licensing.md#floating-licenses).
--
-- A product may ask its activations for a heartbeat every
-- heartbeat_interval seconds; one that misses it by more than
-- heartbeat_tolerance seconds is released (its slot freed) or, with
-- heartbeat_missed 'keep', only marked. A license may override the interval
-- and what happens; a floating license's seats are held only while
-- heartbeats keep them (600 s when neither sets an interval), and always
-- released when missed.
ALTER TABLE products
    ADD COLUMN heartbeat_interval integer
        CHECK (heartbeat_interval IS NULL OR heartbeat_interval BETWEEN 60 AND 2592000),
    ADD COLUMN heartbeat_tolerance integer NOT NULL DEFAULT 60
        CHECK (heartbeat_tolerance BETWEEN 0 AND 86400),
    ADD COLUMN heartbeat_missed text NOT NULL DEFAULT 'release'
        CHECK (heartbeat_missed IN ('release', 'keep'));
ALTER TABLE licenses
    ADD COLUMN heartbeat_interval integer
        CHECK (heartbeat_interval IS NULL OR heartbeat_interval BETWEEN 60 AND 2592000),
    ADD COLUMN heartbeat_missed text
        CHECK (heartbeat_missed IS NULL OR heartbeat_missed IN ('release', 'keep')),
    ADD COLUMN floating boolean NOT NULL DEFAULT false;

-- last_heartbeat_at: the latest heartbeat or verify (written in batches).
-- heartbeat_due_at: when an active activation under a heartbeat policy is
-- overdue (last heartbeat, else activation, + interval + tolerance); NULL
-- when no policy applies or once a missed heartbeat was handled.
-- heartbeat_missed_at: a kept activation's missed deadline, cleared by its
-- next heartbeat. A released activation has deactivation_reason 'released',
-- a floating seat given back 'checked_in'.
ALTER TABLE activations
    DROP CONSTRAINT activations_deactivation_reason_check,
    ADD CONSTRAINT activations_deactivation_reason_check
        CHECK (deactivation_reason IN ('client', 'customer', 'admin', 'blocked', 'replaced', 'released', 'checked_in')),
    ADD COLUMN last_heartbeat_at timestamptz,
    ADD COLUMN heartbeat_due_at timestamptz,
    ADD COLUMN heartbeat_missed_at timestamptz;
-- The release job's scan: only active rows with a deadline, oldest first.
-- Rows without a policy keep NULL, so their verify batches stay HOT updates.
CREATE INDEX activations_heartbeat_due_idx ON activations (heartbeat_due_at)
    WHERE is_active AND heartbeat_due_at IS NOT NULL;
-- The console's "released" filter.
CREATE INDEX activations_released_idx ON activations (deactivated_at DESC)
    WHERE deactivation_reason = 'released';

-- The one rule for an activation's deadline, used by the verify batches,
-- the policy triggers below and activate (app/licensing heartbeat.go
-- mirrors it for the answers).
CREATE FUNCTION licensor_heartbeat_due(last_beat timestamptz, activated timestamptz,
    license_interval integer, license_floating boolean, product_interval integer, tolerance integer)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(last_beat, activated)
        + make_interval(secs => coalesce(license_interval, product_interval,
            CASE WHEN license_floating THEN 600 END) + tolerance)
$$;

-- A changed policy moves the deadlines of the active activations it
-- governs, whoever changes it (console, API, import, SQL).
CREATE FUNCTION licensor_heartbeat_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'products' THEN
        UPDATE activations AS a
        SET heartbeat_due_at = licensor_heartbeat_due(a.last_heartbeat_at, a.activated_at,
            l.heartbeat_interval, l.floating, NEW.heartbeat_interval, NEW.heartbeat_tolerance)
        FROM licenses AS l
        WHERE l.product_id = NEW.id AND a.license_id = l.id AND a.is_active;
    ELSE
        UPDATE activations AS a
        SET heartbeat_due_at = licensor_heartbeat_due(a.last_heartbeat_at, a.activated_at,
            NEW.heartbeat_interval, NEW.floating, p.heartbeat_interval, p.heartbeat_tolerance)
        FROM products AS p
        WHERE p.id = NEW.product_id AND a.license_id = NEW.id AND a.is_active;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER products_heartbeat_policy
    AFTER UPDATE ON products FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.heartbeat_tolerance IS DISTINCT FROM NEW.heartbeat_tolerance)
    EXECUTE FUNCTION licensor_heartbeat_policy_changed();
CREATE TRIGGER licenses_heartbeat_policy
    AFTER UPDATE ON licenses FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.floating IS DISTINCT FROM NEW.floating)
    EXECUTE FUNCTION licensor_heartbeat_policy_changed();

-- Verify and heartbeat read a license's interval and floating flag from
-- each node's activation cache (migration 0023): their change drops it. A
-- trigger of its own, so that migrations replacing
-- licenses_verify_notify_update (0081, 0087) need not know these columns.
CREATE TRIGGER licenses_heartbeat_verify_notify
    AFTER UPDATE ON licenses FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.heartbeat_missed IS DISTINCT FROM NEW.heartbeat_missed
       OR OLD.floating IS DISTINCT FROM NEW.floating)
    EXECUTE FUNCTION licensor_verify_notify();
