-- A license's active activations, as a counter (licenses.active_activations):
-- activate reads it under the license's lock instead of counting the
-- license's active rows, which cost it one index entry per active
-- activation on every activation (a thousand per license in bench/load).
--
-- Triggers on activations keep it, in the transaction of the change,
-- whoever makes it: activate and deactivate, heartbeat release and floating
-- check-in, the console and the internal API, blocking, deleting a license
-- or a product (cascades), retention and plain SQL. They are per statement
-- with transition tables: a statement touching many activations (a bulk
-- insert, a block, a cascade) updates each license once, in license id
-- order, and one touching none that is active (a failed attempt, verify's
-- batched last_verified_at) updates no license.
--
-- Writers lock a license before its activations
-- (docs/architecture.md#counting-active-activations): the trigger's update
-- of the license comes last, on a row already held.

-- No activation changes between the count below and the triggers; licenses
-- first, the order activate takes them in.
LOCK TABLE licenses IN SHARE ROW EXCLUSIVE MODE;
LOCK TABLE activations IN SHARE ROW EXCLUSIVE MODE;

ALTER TABLE licenses ADD COLUMN active_activations integer NOT NULL DEFAULT 0;

UPDATE licenses AS l SET active_activations = c.n
FROM (SELECT license_id, count(*) AS n FROM activations
      WHERE is_active AND license_id IS NOT NULL GROUP BY license_id) AS c
WHERE l.id = c.license_id;

-- Adds, per license, the statement's active rows after it (new_rows) less
-- those before it (old_rows).
CREATE FUNCTION licensor_count_active_activations() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    IF TG_OP = 'INSERT' THEN
        FOR c IN SELECT license_id, count(*)::integer AS n FROM new_rows
                 WHERE is_active AND license_id IS NOT NULL
                 GROUP BY license_id ORDER BY license_id LOOP
            UPDATE licenses SET active_activations = active_activations + c.n WHERE id = c.license_id;
        END LOOP;
    ELSIF TG_OP = 'DELETE' THEN
        FOR c IN SELECT license_id, count(*)::integer AS n FROM old_rows
                 WHERE is_active AND license_id IS NOT NULL
                 GROUP BY license_id ORDER BY license_id LOOP
            UPDATE licenses SET active_activations = active_activations - c.n WHERE id = c.license_id;
        END LOOP;
    ELSE
        FOR c IN SELECT license_id, sum(d)::integer AS n FROM (
                     SELECT license_id, 1 AS d FROM new_rows WHERE is_active
                     UNION ALL
                     SELECT license_id, -1 FROM old_rows WHERE is_active) AS moved
                 WHERE license_id IS NOT NULL
                 GROUP BY license_id HAVING sum(d) <> 0 ORDER BY license_id LOOP
            UPDATE licenses SET active_activations = active_activations + c.n WHERE id = c.license_id;
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER activations_count_active_insert
    AFTER INSERT ON activations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licensor_count_active_activations();
CREATE TRIGGER activations_count_active_update
    AFTER UPDATE ON activations REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licensor_count_active_activations();
CREATE TRIGGER activations_count_active_delete
    AFTER DELETE ON activations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION licensor_count_active_activations();
