-- activations' row trigger on updates that tells the nodes' verify caches
-- (migration 0023) fires only for an UPDATE whose SET list names a column
-- its WHEN compares, as licenses' do since 0145; its condition is
-- unchanged. Verify's batched write (last_verified_at, the heartbeat
-- columns: app/licensing/verify_recorder.go) sets none of them, and
-- PostgreSQL compiled this WHEN from its stored text for each of its
-- statements. activations has no BEFORE trigger that could change another
-- column, so the same rows notify as before
-- (TestLicenseUpdateTriggersNameTheColumnsTheyWatch, app/licensing, checks
-- activations' triggers too).
-- (activations_count_active_update keeps no column list: PostgreSQL allows
-- none on an UPDATE trigger with transition tables.)
DROP TRIGGER activations_verify_notify_update ON activations;
CREATE TRIGGER activations_verify_notify_update
    AFTER UPDATE OF is_active, is_valid, license_id, product_id, client_name, domain, ip ON activations FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active
       OR OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.license_id IS DISTINCT FROM NEW.license_id
       OR OLD.product_id IS DISTINCT FROM NEW.product_id
       OR OLD.client_name IS DISTINCT FROM NEW.client_name
       OR OLD.domain IS DISTINCT FROM NEW.domain
       OR OLD.ip IS DISTINCT FROM NEW.ip)
    EXECUTE FUNCTION licensor_verify_notify();
