-- The row triggers on licenses' updates fire only for an UPDATE whose SET
-- list names a column their WHEN compares (UPDATE OF …). Their conditions
-- are unchanged.
--
-- Why: PostgreSQL compiles each trigger's WHEN from its stored text for
-- every statement that updates the table, before it can tell that nothing
-- watched changed. Activate updates its license on every call (the
-- counters, app/licensing/activate.go lockLicenseSQL), and compiling these
-- three WHEN conditions was about 9% of PostgreSQL's instructions per
-- activate (docs/benchmarks.md#activate). With a column list, PostgreSQL
-- checks the statement's SET columns first and compiles nothing when none
-- is watched.
--
-- The same triggers fire as before: a column can change only when an
-- UPDATE sets it (licenses has no BEFORE trigger that could change another
-- one), so a WHEN that finds a watched column changed always had it in the
-- SET list. TestLicenseUpdateTriggersNameTheColumnsTheyWatch
-- (app/licensing) checks that every column a WHEN reads is in its list.
DROP TRIGGER licenses_verify_notify_update ON licenses;
CREATE TRIGGER licenses_verify_notify_update
    AFTER UPDATE OF is_valid, expires_at, entitlements, expiry_days, expiry_start ON licenses FOR EACH ROW
    WHEN (OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.entitlements IS DISTINCT FROM NEW.entitlements
       OR OLD.expiry_days IS DISTINCT FROM NEW.expiry_days
       OR OLD.expiry_start IS DISTINCT FROM NEW.expiry_start)
    EXECUTE FUNCTION licensor_verify_notify();

DROP TRIGGER licenses_heartbeat_policy ON licenses;
CREATE TRIGGER licenses_heartbeat_policy
    AFTER UPDATE OF heartbeat_interval, floating ON licenses FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.floating IS DISTINCT FROM NEW.floating)
    EXECUTE FUNCTION licensor_heartbeat_policy_changed();

DROP TRIGGER licenses_heartbeat_verify_notify ON licenses;
CREATE TRIGGER licenses_heartbeat_verify_notify
    AFTER UPDATE OF heartbeat_interval, heartbeat_missed, floating ON licenses FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.heartbeat_missed IS DISTINCT FROM NEW.heartbeat_missed
       OR OLD.floating IS DISTINCT FROM NEW.floating)
    EXECUTE FUNCTION licensor_verify_notify();
