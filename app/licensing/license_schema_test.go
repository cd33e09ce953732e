package licensing

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/licensor/licensor/app/db/dbtest"
)

// Every row trigger on updates of licenses, and of activations, names the
// columns it watches (UPDATE OF …, migrations 0145, 0148), each column its
// WHEN compares among them, and on licenses none is a counter activate's
// lock sets (lockLicenseSQL): PostgreSQL then skips compiling the WHEN
// conditions for activate's update of its license and verify's batched
// write of activations, and still fires each trigger whenever a watched
// column changes. Neither table has a BEFORE UPDATE trigger, which could
// change a column the statement does not set.
func TestLicenseUpdateTriggersNameTheColumnsTheyWatch(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	lockSets := regexp.MustCompile(`(?:SET|,)\s+([a-z_]+)\s*=`).FindAllStringSubmatch(lockLicenseSQL, -1)
	if len(lockSets) == 0 {
		t.Fatalf("no column set in lockLicenseSQL: the expression is wrong\n%s", lockLicenseSQL)
	}
	compared := regexp.MustCompile(`(?i)\b(?:old|new)\.([a-z_]+)`)
	for _, table := range []string{"licenses", "activations"} {
		var triggers []struct {
			Name    string   `bun:"tgname"`
			Def     string   `bun:"def"`
			Before  bool     `bun:"before"`
			Columns []string `bun:"columns,array"`
		}
		// tgtype bits: 1 row, 2 before, 16 update.
		if err := d.Bun.NewRaw(`SELECT t.tgname, pg_get_triggerdef(t.oid) AS def, (t.tgtype & 2) <> 0 AS before,
				ARRAY(SELECT a.attname::text FROM pg_attribute AS a
					WHERE a.attrelid = t.tgrelid AND a.attnum = ANY (t.tgattr) ORDER BY a.attname) AS columns
			FROM pg_trigger AS t
			WHERE t.tgrelid = ?::regclass AND NOT t.tgisinternal AND (t.tgtype & 1) <> 0 AND (t.tgtype & 16) <> 0
			ORDER BY t.tgname`, table).Scan(ctx, &triggers); err != nil {
			t.Fatal(err)
		}
		if len(triggers) == 0 {
			t.Fatalf("no row trigger on %s's updates: the query is wrong", table)
		}
		for _, tr := range triggers {
			if tr.Before {
				t.Errorf("%s is a BEFORE UPDATE trigger: it could change a column the statement does not set, which the AFTER triggers' column lists would miss", tr.Name)
			}
			if len(tr.Columns) == 0 {
				t.Errorf("%s has no column list (UPDATE OF …): its WHEN is compiled for every update of %s\n%s", tr.Name, table, tr.Def)
				continue
			}
			for _, m := range compared.FindAllStringSubmatch(tr.Def, -1) {
				if !slices.Contains(tr.Columns, strings.ToLower(m[1])) {
					t.Errorf("%s compares %s but does not list it (UPDATE OF %s): a change of %s alone would not fire it", tr.Name, m[1], strings.Join(tr.Columns, ", "), m[1])
				}
			}
			if table != "licenses" {
				continue
			}
			for _, set := range lockSets {
				if slices.Contains(tr.Columns, set[1]) {
					t.Errorf("%s watches %s, which activate's lock sets on every call", tr.Name, set[1])
				}
			}
		}
	}
}

// The value rules of the tables activate writes (licenses, activations,
// activity_log) are their columns' domains, not CHECK constraints of the
// tables (migrations 0146, 0147): PostgreSQL compiles a table's CHECK
// constraints from text for every statement writing it, activate's too,
// and checks them for every row an UPDATE writes; a domain's are compiled
// once per connection and checked only where the column is set. Every
// writer is still refused a value breaking a rule, on INSERT and on
// UPDATE, with the constraint's name as before. Only activations' rule
// over two columns stays a CHECK constraint.
func TestActivateTablesCheckValuesOnlyWhereSet(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var checks []string
	if err := d.Bun.NewRaw(`SELECT conrelid::regclass::text || '.' || conname FROM pg_constraint
		WHERE conrelid IN ('licenses'::regclass, 'activations'::regclass, 'activity_log'::regclass) AND contype = 'c'
		ORDER BY 1`).Scan(ctx, &checks); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(checks, []string{"activations.activations_check"}) {
		t.Errorf("CHECK constraints %v, want only activations.activations_check (is_valid OR NOT is_active): every statement writing these tables, activate's too, compiles them", checks)
	}

	var product, license, activation, logged int64
	if err := d.Bun.NewRaw(`INSERT INTO products (name, reference_id) VALUES ('Rules', 'RULES') RETURNING id`).Scan(ctx, &product); err != nil {
		t.Fatal(err)
	}
	if err := d.Bun.NewRaw(`INSERT INTO licenses (product_id, license_code, uses, parallel_uses, expiry_days, expiry_start, heartbeat_interval, heartbeat_missed)
		VALUES (?, 'RULES-OK', 0, 0, 0, 'first_verify', 60, 'keep') RETURNING id`, product).Scan(ctx, &license); err != nil {
		t.Fatalf("a license within every rule: %v", err)
	}
	if err := d.Bun.NewRaw(`INSERT INTO activations (license_id, product_id, license_code, is_active, deactivation_reason)
		VALUES (?, ?, 'RULES-OK', false, 'checked_in') RETURNING id`, license, product).Scan(ctx, &activation); err != nil {
		t.Fatalf("an activation within every rule: %v", err)
	}
	if err := d.Bun.NewRaw(`INSERT INTO activity_log (type, actor_type, message) VALUES ('rules', 'system', 'ok') RETURNING id`).Scan(ctx, &logged); err != nil {
		t.Fatalf("an activity within every rule: %v", err)
	}
	for _, c := range []struct{ table, column, value, constraint string }{
		{"licenses", "uses", "-1", "licenses_uses_check"},
		{"licenses", "parallel_uses", "-1", "licenses_parallel_uses_check"},
		{"licenses", "expiry_days", "-1", "licenses_expiry_days_check"},
		{"licenses", "expiry_start", "'later'", "licenses_expiry_start_check"},
		{"licenses", "heartbeat_interval", "59", "licenses_heartbeat_interval_check"},
		{"licenses", "heartbeat_interval", "2592001", "licenses_heartbeat_interval_check"},
		{"licenses", "heartbeat_missed", "'drop'", "licenses_heartbeat_missed_check"},
		{"activations", "deactivation_reason", "'bored'", "activations_deactivation_reason_check"},
		{"activity_log", "actor_type", "'robot'", "activity_log_actor_type_check"},
	} {
		id := map[string]int64{"licenses": license, "activations": activation, "activity_log": logged}[c.table]
		insert := map[string]string{
			"licenses":     fmt.Sprintf("INSERT INTO licenses (product_id, license_code, %s) VALUES (%d, 'RULES-BAD', %s)", c.column, product, c.value),
			"activations":  fmt.Sprintf("INSERT INTO activations (product_id, license_code, is_active, %s) VALUES (%d, 'RULES-BAD', false, %s)", c.column, product, c.value),
			"activity_log": fmt.Sprintf("INSERT INTO activity_log (type, message, %s) VALUES ('rules', 'bad', %s)", c.column, c.value),
		}[c.table]
		for _, q := range []string{insert, fmt.Sprintf("UPDATE %s SET %s = %s WHERE id = %d", c.table, c.column, c.value, id)} {
			_, err := d.Bun.ExecContext(ctx, q)
			var pg *pgconn.PgError
			if !errors.As(err, &pg) || pg.Code != "23514" || pg.ConstraintName != c.constraint {
				t.Errorf("%s: %v, want check_violation (23514) of %s", q, err, c.constraint)
			}
		}
	}
	// NULL breaks no rule, as with the CHECK constraints.
	if _, err := d.Bun.ExecContext(ctx, `UPDATE licenses SET uses = NULL, parallel_uses = NULL, expiry_days = NULL,
		heartbeat_interval = NULL, heartbeat_missed = NULL WHERE id = ?`, license); err != nil {
		t.Errorf("NULLs: %v", err)
	}
	if _, err := d.Bun.ExecContext(ctx, `UPDATE activations SET deactivation_reason = NULL WHERE id = ?`, activation); err != nil {
		t.Errorf("NULL: %v", err)
	}
}
