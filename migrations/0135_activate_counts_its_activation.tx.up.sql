-- Activate writes its license once: its statement (app/licensing/activate.go,
-- insertActivationSQL) adds the new activation to the license's
-- total_activations and active_activations in the same update, and the
-- insert trigger of 0110 leaves that row out instead of updating the license
-- a second time. The trigger's update was a quarter of the statement's time
-- (EXPLAIN ANALYZE: about 0.15 ms of 0.6 ms) and a second version of the
-- license row per activate (docs/benchmarks.md).
--
-- The statement names the row it counted in the transaction-local setting
-- licensor.counted_activation (set_config in the RETURNING of its update of
-- the license, which runs before the statement's AFTER triggers). Only the
-- row with that id is left out: ids are unique, so a value left from an
-- earlier statement of the transaction can never leave out another row, and
-- every other writer (bulk inserts, the console, plain SQL) is counted as
-- before. Updates and deletes are unchanged.
CREATE OR REPLACE FUNCTION licensor_count_active_activations() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    counted bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        counted := NULLIF(current_setting('licensor.counted_activation', true), '')::bigint;
        FOR c IN SELECT license_id, count(*)::integer AS n FROM new_rows
                 WHERE is_active AND license_id IS NOT NULL AND id IS DISTINCT FROM counted
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
