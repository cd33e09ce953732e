-- An activation made active again by an admin (console, internal API, the
-- Undo of a block) is under its heartbeat policy again from that moment
-- (docs/licensing.md#re-activation-and-heartbeats): MarkActivationActive
-- gives it the deadline now + interval + tolerance, as activate does.
-- reactivated_at keeps that moment so that a later policy change (the
-- trigger below) counts from it rather than from a heartbeat sent before
-- the activation was freed, which would release it at the job's next run.
ALTER TABLE activations ADD COLUMN IF NOT EXISTS reactivated_at timestamptz;

-- Migration 0121's trigger, its last sign of life now the later of the
-- last heartbeat and the re-activation (greatest ignores NULLs; both NULL:
-- the activation itself, as before). Offline activations stay exempt.
CREATE OR REPLACE FUNCTION licensor_heartbeat_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'products' THEN
        UPDATE activations AS a
        SET heartbeat_due_at = licensor_heartbeat_due(greatest(a.last_heartbeat_at, a.reactivated_at), a.activated_at,
            l.heartbeat_interval, l.floating, NEW.heartbeat_interval, NEW.heartbeat_tolerance)
        FROM licenses AS l
        WHERE l.product_id = NEW.id AND a.license_id = l.id AND a.is_active
            AND NOT EXISTS (SELECT 1 FROM offline_activations AS o WHERE o.activation_id = a.id);
    ELSE
        UPDATE activations AS a
        SET heartbeat_due_at = licensor_heartbeat_due(greatest(a.last_heartbeat_at, a.reactivated_at), a.activated_at,
            NEW.heartbeat_interval, NEW.floating, p.heartbeat_interval, p.heartbeat_tolerance)
        FROM products AS p
        WHERE p.id = NEW.product_id AND a.license_id = NEW.id AND a.is_active
            AND NOT EXISTS (SELECT 1 FROM offline_activations AS o WHERE o.activation_id = a.id);
    END IF;
    RETURN NULL;
END;
$$;

-- Activations re-activated before this migration got no deadline, so the
-- release job never saw them: every active online one under a policy that
-- has neither a deadline nor a missed mark. Their policy applies from now,
-- as for a re-activation made today. (The statements above and this one
-- can run twice: TestReactivationBackfill does.)
UPDATE activations AS a
SET heartbeat_due_at = licensor_heartbeat_due(now(), now(),
    l.heartbeat_interval, l.floating, p.heartbeat_interval, p.heartbeat_tolerance)
FROM licenses AS l JOIN products AS p ON p.id = l.product_id
WHERE a.license_id = l.id AND a.is_active
    AND a.heartbeat_due_at IS NULL AND a.heartbeat_missed_at IS NULL
    AND coalesce(l.heartbeat_interval, p.heartbeat_interval, CASE WHEN l.floating THEN 600 END) IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM offline_activations AS o WHERE o.activation_id = a.id);
