-- licenses' six CHECK constraints become domains of the columns they check,
-- with the same conditions and constraint names: a value breaking one is
-- refused as before (SQLSTATE 23514, the same constraint name), by every
-- writer, on INSERT, UPDATE and COPY.
--
-- Why: PostgreSQL checks a table's CHECK constraints on every row an UPDATE
-- writes, whatever columns it sets, and compiles each from its stored text
-- for every statement. Activate updates its license on every call (the
-- counters, app/licensing/activate.go lockLicenseSQL), and compiling and
-- checking these six was about 11% of PostgreSQL's instructions per
-- activate (docs/benchmarks.md#activate). A domain's constraint is checked
-- where a value is assigned to the column, is compiled once per connection
-- (the type cache), and is never checked for an UPDATE that does not set
-- the column. Clients see the base types (PostgreSQL describes a domain
-- column as its base type), and no statement binds parameters to these
-- columns.
--
-- The triggers of 0145 read some of these columns; PostgreSQL does not
-- change the type of a column a trigger uses, so they are dropped and made
-- again as 0145 made them.

DROP TRIGGER licenses_verify_notify_update ON licenses;
DROP TRIGGER licenses_heartbeat_policy ON licenses;
DROP TRIGGER licenses_heartbeat_verify_notify ON licenses;

-- The domains get their constraints after the columns' types change: a
-- change to a domain with constraints rewrites the table and rebuilds its
-- indexes, one without does not, and adding a constraint to a domain
-- checks the rows already there (the CHECK constraints kept them valid).
CREATE DOMAIN licenses_uses AS integer;
CREATE DOMAIN licenses_parallel_uses AS integer;
CREATE DOMAIN licenses_expiry_days AS integer;
CREATE DOMAIN licenses_expiry_start AS text;
CREATE DOMAIN licenses_heartbeat_interval AS integer;
CREATE DOMAIN licenses_heartbeat_missed AS text;

ALTER TABLE licenses
    DROP CONSTRAINT licenses_uses_check,
    DROP CONSTRAINT licenses_parallel_uses_check,
    DROP CONSTRAINT licenses_expiry_days_check,
    DROP CONSTRAINT licenses_expiry_start_check,
    DROP CONSTRAINT licenses_heartbeat_interval_check,
    DROP CONSTRAINT licenses_heartbeat_missed_check,
    ALTER COLUMN uses TYPE licenses_uses,
    ALTER COLUMN parallel_uses TYPE licenses_parallel_uses,
    ALTER COLUMN expiry_days TYPE licenses_expiry_days,
    ALTER COLUMN expiry_start TYPE licenses_expiry_start,
    ALTER COLUMN heartbeat_interval TYPE licenses_heartbeat_interval,
    ALTER COLUMN heartbeat_missed TYPE licenses_heartbeat_missed;

ALTER DOMAIN licenses_uses ADD CONSTRAINT licenses_uses_check CHECK (VALUE >= 0);
ALTER DOMAIN licenses_parallel_uses ADD CONSTRAINT licenses_parallel_uses_check CHECK (VALUE >= 0);
ALTER DOMAIN licenses_expiry_days ADD CONSTRAINT licenses_expiry_days_check CHECK (VALUE >= 0);
ALTER DOMAIN licenses_expiry_start
    ADD CONSTRAINT licenses_expiry_start_check CHECK (VALUE IN ('creation', 'first_activation', 'first_verify'));
ALTER DOMAIN licenses_heartbeat_interval
    ADD CONSTRAINT licenses_heartbeat_interval_check CHECK (VALUE BETWEEN 60 AND 2592000);
ALTER DOMAIN licenses_heartbeat_missed
    ADD CONSTRAINT licenses_heartbeat_missed_check CHECK (VALUE IN ('release', 'keep'));

CREATE TRIGGER licenses_verify_notify_update
    AFTER UPDATE OF is_valid, expires_at, entitlements, expiry_days, expiry_start ON licenses FOR EACH ROW
    WHEN (OLD.is_valid IS DISTINCT FROM NEW.is_valid
       OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
       OR OLD.entitlements IS DISTINCT FROM NEW.entitlements
       OR OLD.expiry_days IS DISTINCT FROM NEW.expiry_days
       OR OLD.expiry_start IS DISTINCT FROM NEW.expiry_start)
    EXECUTE FUNCTION licensor_verify_notify();

CREATE TRIGGER licenses_heartbeat_policy
    AFTER UPDATE OF heartbeat_interval, floating ON licenses FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.floating IS DISTINCT FROM NEW.floating)
    EXECUTE FUNCTION licensor_heartbeat_policy_changed();

CREATE TRIGGER licenses_heartbeat_verify_notify
    AFTER UPDATE OF heartbeat_interval, heartbeat_missed, floating ON licenses FOR EACH ROW
    WHEN (OLD.heartbeat_interval IS DISTINCT FROM NEW.heartbeat_interval
       OR OLD.heartbeat_missed IS DISTINCT FROM NEW.heartbeat_missed
       OR OLD.floating IS DISTINCT FROM NEW.floating)
    EXECUTE FUNCTION licensor_verify_notify();
