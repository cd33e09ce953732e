-- Offline activations are exempt from heartbeats
-- (docs/licensing.md#offline-activations-and-heartbeats): a machine that
-- never reaches Licensor cannot send one, so its activation never has a
-- deadline and the release job never sees it. Activate left their
-- heartbeat_due_at NULL, but a changed policy (this trigger, migration
-- 0083) gave them one, and the job then released them. The trigger now
-- skips them, as the verify batches do (app/licensing verify_recorder.go).
CREATE OR REPLACE FUNCTION licensor_heartbeat_policy_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'products' THEN
        UPDATE activations AS a
        SET heartbeat_due_at = licensor_heartbeat_due(a.last_heartbeat_at, a.activated_at,
            l.heartbeat_interval, l.floating, NEW.heartbeat_interval, NEW.heartbeat_tolerance)
        FROM licenses AS l
        WHERE l.product_id = NEW.id AND a.license_id = l.id AND a.is_active
            AND NOT EXISTS (SELECT 1 FROM offline_activations AS o WHERE o.activation_id = a.id);
    ELSE
        UPDATE activations AS a
        SET heartbeat_due_at = licensor_heartbeat_due(a.last_heartbeat_at, a.activated_at,
            NEW.heartbeat_interval, NEW.floating, p.heartbeat_interval, p.heartbeat_tolerance)
        FROM products AS p
        WHERE p.id = NEW.product_id AND a.license_id = NEW.id AND a.is_active
            AND NOT EXISTS (SELECT 1 FROM offline_activations AS o WHERE o.activation_id = a.id);
    END IF;
    RETURN NULL;
END;
$$;

-- Offline activations that a policy change gave a deadline lose it again.
UPDATE activations AS a SET heartbeat_due_at = NULL, heartbeat_missed_at = NULL
    FROM offline_activations AS o
    WHERE o.activation_id = a.id AND (a.heartbeat_due_at IS NOT NULL OR a.heartbeat_missed_at IS NOT NULL);
