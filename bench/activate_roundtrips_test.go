package bench_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/licensor/licensor/app/db/dbtest"
)

// activateLockSQL and activateInsertSQL are app/licensing's lockLicenseSQL
// and insertActivationSQL (activate.go), copied, since the package keeps
// them unexported (TestActivateStatementsAreActivates fails when they
// drift apart): what an activate sends on its hot path, without the app
// around it.
const (
	activateLockSQL = `UPDATE licenses AS l
	SET total_activations = l.total_activations + 1, active_activations = l.active_activations + 1
	WHERE l.license_code = $1
	RETURNING l.*, set_config('licensor.counted_activation', nextval('activations_id_seq')::text, true)::bigint AS next_activation_id`
	activateInsertSQL = `WITH activation AS (
		INSERT INTO activations (id, license_id, product_id, license_code, client_name, url, domain, ip, user_agent,
			is_valid, is_active, activated_at, created_at, updated_at, heartbeat_due_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true, true, $10, $10, $10, $20)
	)
	INSERT INTO activity_log (type, actor_type, actor_id, actor_name, ip, subject_type, subject_id, message, data)
	VALUES ($11, $12, $13, $14, $15, $16, $17, $18, $19)`
)

// TestActivateStatementsAreActivates: the statements
// BenchmarkActivateRoundTrips sends are, byte for byte, the ones activate.go
// sends, so its figures price activate's round trips and not an old copy.
func TestActivateStatementsAreActivates(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../app/licensing/activate.go")
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]string{"activateLockSQL": activateLockSQL, "activateInsertSQL": activateInsertSQL} {
		if !strings.Contains(string(src), "`"+q+"`") {
			t.Errorf("%s is not a statement of app/licensing/activate.go any more: copy it again", name)
		}
	}
}

// BenchmarkActivateRoundTrips prices the round trips of an activate's
// transaction apart from the app (docs/benchmarks.md, "Where an
// activate's CPU goes"): activate's own statements on one pgx connection,
// prepared, on BenchmarkActivatePath's licenses, sent as activate sends
// them, in four round trips (BEGIN; lock and count; the activation and its
// activity log; COMMIT), and pipelined in two (BEGIN with the lock, the
// activation with COMMIT). The same statements, rows and locks either way,
// so the difference in cpu-ns/op (this process) and pg-cpu-ns/op (the
// database's server processes: the connection's, the others idle) is what
// two round trips cost. -count runs one form's runs together, so
// interleave by running the test binary once per pair and compare the
// medians:
//
//	go test -c -o /tmp/bench.test ./bench/ && cd bench &&
//	for i in 1 2 3 4 5 6 7 8; do /tmp/bench.test -test.run '^$' \
//		-test.bench ActivateRoundTrips -test.cpu 1 -test.benchtime 3000x; done
func BenchmarkActivateRoundTrips(b *testing.B) {
	ctx := context.Background()
	d := dbtest.New(b)
	for _, q := range activateFixture() {
		if _, err := d.Bun.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	c, err := pgx.Connect(ctx, d.DSN)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = c.Close(ctx) }()

	n := 0
	// lock reads the locked license's id, product and code, and the
	// activation's id.
	lock := func(rows pgx.Rows) (next, license, product int64, code string) {
		fields := rows.FieldDescriptions()
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				b.Fatal(err)
			}
			for i, f := range fields {
				switch f.Name {
				case "id":
					license = vals[i].(int64)
				case "product_id":
					product = vals[i].(int64)
				case "license_code":
					code = vals[i].(string)
				case "next_activation_id":
					next = vals[i].(int64)
				}
			}
		}
		if err := rows.Err(); err != nil || code == "" {
			b.Fatalf("lock: %v (license %q)", err, code)
		}
		return next, license, product, code
	}
	insertArgs := func(next, license, product int64, code string) []any {
		host := fmt.Sprintf("host-%d.example.com", n)
		return []any{next, license, product, code, nil, "https://" + host, host, "127.0.0.1", nil, time.Now(),
			"license.activated", "api_key", int64(1), "bench", "127.0.0.1", "license", license,
			"License " + code + " activated via API for product Bench from " + host + " (IP: 127.0.0.1).",
			fmt.Sprintf(`{"activation_id":%d}`, next), nil}
	}
	code := func() string { n++; return fmt.Sprintf("BENCH-%d", n%activateLicenses) }
	four := func() {
		if _, err := c.Exec(ctx, "BEGIN"); err != nil {
			b.Fatal(err)
		}
		rows, _ := c.Query(ctx, activateLockSQL, code())
		next, license, product, lc := lock(rows)
		if _, err := c.Exec(ctx, activateInsertSQL, insertArgs(next, license, product, lc)...); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Exec(ctx, "COMMIT"); err != nil {
			b.Fatal(err)
		}
	}
	two := func() {
		var first pgx.Batch
		first.Queue("BEGIN")
		first.Queue(activateLockSQL, code())
		res := c.SendBatch(ctx, &first)
		if _, err := res.Exec(); err != nil {
			b.Fatal(err)
		}
		rows, _ := res.Query()
		next, license, product, lc := lock(rows)
		if err := res.Close(); err != nil {
			b.Fatal(err)
		}
		var second pgx.Batch
		second.Queue(activateInsertSQL, insertArgs(next, license, product, lc)...)
		second.Queue("COMMIT")
		if err := c.SendBatch(ctx, &second).Close(); err != nil {
			b.Fatal(err)
		}
	}
	// Both forms prepare their statements before measuring.
	for range 20 {
		four()
		two()
	}
	for _, form := range []struct {
		name string
		f    func()
	}{{"trips=4", four}, {"trips=2", two}} {
		b.Run(form.name, func(b *testing.B) {
			pg0 := serverCPU(ctx, b, d.Bun)
			cpu0 := processCPU()
			for b.Loop() {
				form.f()
			}
			b.StopTimer()
			ops := float64(b.N)
			b.ReportMetric(float64(processCPU()-cpu0)/ops, "cpu-ns/op")
			if pg0 != nil {
				b.ReportMetric(float64(cpuSince(pg0, serverCPU(ctx, b, d.Bun)))/ops, "pg-cpu-ns/op")
			}
		})
	}
}
