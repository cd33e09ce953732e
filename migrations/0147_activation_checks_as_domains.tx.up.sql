-- activations.deactivation_reason and activity_log.actor_type keep their
-- value rules as domains instead of CHECK constraints of their tables, as
-- licenses' did in 0146, with the same conditions and constraint names.
--
-- Why: PostgreSQL compiles a table's CHECK constraints from their stored
-- text for every statement that writes the table; a domain's are compiled
-- once per connection (the type cache). Every activate inserts an
-- activation and its activity-log row (app/licensing/activate.go
-- insertActivationSQL), and compiling these two lists of allowed values
-- was about 8% of PostgreSQL's instructions per activate
-- (docs/benchmarks.md#activate). activations' rule over two columns (an
-- active activation is valid) stays a CHECK constraint.
--
-- Changing a column to a domain with constraints would rewrite the table
-- and rebuild its indexes (millions of activations and log rows), to a
-- domain without them does not; the constraints are then added NOT VALID,
-- which skips reading the rows already there: the CHECK constraints
-- dropped in this same transaction kept each of them valid. New and
-- changed values are checked.
CREATE DOMAIN activations_deactivation_reason AS text;
CREATE DOMAIN activity_log_actor_type AS text;

ALTER TABLE activations
    DROP CONSTRAINT activations_deactivation_reason_check,
    ALTER COLUMN deactivation_reason TYPE activations_deactivation_reason;
ALTER TABLE activity_log
    DROP CONSTRAINT activity_log_actor_type_check,
    ALTER COLUMN actor_type TYPE activity_log_actor_type;

ALTER DOMAIN activations_deactivation_reason ADD CONSTRAINT activations_deactivation_reason_check
    CHECK (VALUE IN ('client', 'customer', 'admin', 'blocked', 'replaced', 'released', 'checked_in')) NOT VALID;
ALTER DOMAIN activity_log_actor_type ADD CONSTRAINT activity_log_actor_type_check
    CHECK (VALUE IN ('admin', 'api_key', 'customer', 'system')) NOT VALID;
