-- The counting trigger of 0110/0135 returns at once when an INSERT's rows
-- are only the one activate counted itself (licensor.counted_activation,
-- set by lockLicenseSQL in app/licensing/activate.go): activate's
-- statement inserts that single row, and the trigger's aggregate over
-- its transition table (GROUP BY and ORDER BY of the rows to count, a
-- sort and an aggregate started and ended for every statement) found
-- nothing to count in it. One NOT EXISTS over the transition table now
-- says so: backend instructions per activate, postgres --single replaying
-- activate's statements, 1,770,000 -> 1,753,000 (docs/benchmarks.md,
-- activate). Any other row in the statement (a bulk insert, a second
-- insert in activate's transaction) takes the loop as before, which still
-- leaves out only the counted id; updates and deletes are unchanged
-- (TestCountedActivationLeavesOutOnlyItsRow,
-- TestCountingTriggerPassesOverActivatesRowAtOnce).
CREATE OR REPLACE FUNCTION licensor_count_active_activations() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    counted bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        counted := NULLIF(current_setting('licensor.counted_activation', true), '')::bigint;
        IF counted IS NOT NULL AND NOT EXISTS (SELECT FROM new_rows WHERE id <> counted) THEN
            RETURN NULL;
        END IF;
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
