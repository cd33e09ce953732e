-- Each node keeps the activation states that verify reads in memory
-- (app/licensing ActivationCache). These triggers NOTIFY every node of a
-- change to a field verify checks, whoever makes it (API, console, import,
-- job or plain SQL), so a node drops the entry within milliseconds of the
-- commit. Payload: 'a<activation id>' or 'l<license id>'.
CREATE FUNCTION licensor_verify_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'licenses' THEN
        PERFORM pg_notify('licensor_verify', 'l' || OLD.id);
    ELSE
        PERFORM pg_notify('licensor_verify', 'a' || OLD.id);
    END IF;
    RETURN NULL;
END;
$$;

-- Activation counters, last-verified times and the like change often and
-- do not matter to verify, so only the checked fields notify.
CREATE TRIGGER activations_verify_notify_update
    AFTER UPDATE ON activations FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active
       OR OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.license_id IS DISTINCT FROM NEW.license_id
       OR OLD.product_id IS DISTINCT FROM NEW.product_id
       OR OLD.client_name IS DISTINCT FROM NEW.client_name
       OR OLD.domain IS DISTINCT FROM NEW.domain
       OR OLD.ip IS DISTINCT FROM NEW.ip)
    EXECUTE FUNCTION licensor_verify_notify();

CREATE TRIGGER activations_verify_notify_delete
    AFTER DELETE ON activations FOR EACH ROW
    EXECUTE FUNCTION licensor_verify_notify();

CREATE TRIGGER licenses_verify_notify_update
    AFTER UPDATE ON licenses FOR EACH ROW
    WHEN (OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION licensor_verify_notify();

CREATE TRIGGER licenses_verify_notify_delete
    AFTER DELETE ON licenses FOR EACH ROW
    EXECUTE FUNCTION licensor_verify_notify();
