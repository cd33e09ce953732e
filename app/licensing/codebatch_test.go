package licensing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

// codeBatchMarker is how codeStatesSQL, and no other statement, reads.
const codeBatchMarker = "WITH ORDINALITY AS k(code"

// Many verifies by code at once, of different licenses, hosts and client
// names, go out in batches (codebatch.go; counted on the wire, dbtest.Tap)
// and each still answers from its own license and activations, and records
// its own activation: a verify that read another's rows would meet another
// license's block or deactivation, or none, and answer otherwise.
// Prepared and unprepared (text results) alike; codes that do not exist,
// hosts and client names with no activation answer as such.
func TestConcurrentVerifiesByCodeReadTheirOwnState(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	const n = 120
	// License CB-k (k = 1..n) has an activation on host-k by Client-k;
	// every third license is blocked, every fifth's activation inactive.
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code, is_valid)
		SELECT ?, 'CB-' || k, k % 3 <> 0 FROM generate_series(1, ?) AS k`, f.product.ID, n); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := f.d.Bun.NewRaw(`INSERT INTO activations (license_id, product_id, license_code, domain, client_name, is_active)
		SELECT l.id, l.product_id, l.license_code, 'host-' || k || '.example.com', 'Client-' || k, k % 5 <> 0
		FROM licenses AS l, LATERAL (SELECT substr(l.license_code, 4)::int AS k) AS s
		WHERE l.license_code LIKE 'CB-%' ORDER BY k RETURNING id`).Scan(f.ctx, &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("%d activations", len(ids))
	}
	tap := dbtest.StartTap(t, f.d.DSN)
	tapped, err := db.Open(f.ctx, tap.URL, db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, DirectURL: f.d.DSN})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tapped.Close() })

	for _, unprepared := range []bool{false, true} {
		rec := NewVerifyRecorder(f.d.Bun, RecorderOptions{})
		s := NewService(Options{Now: f.clock, Recorder: rec, Unprepared: unprepared})
		// The licenses are locked meanwhile: the first reads wait in
		// PostgreSQL, and the verifies behind them queue and go out in
		// batches once the lock is gone.
		lock, err := f.d.Bun.BeginTx(f.ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lock.ExecContext(f.ctx, "LOCK TABLE licenses IN ACCESS EXCLUSIVE MODE"); err != nil {
			t.Fatal(err)
		}
		tap.Take()
		var (
			wg        sync.WaitGroup
			verified  sync.Map
			errs      = make(chan string, 3*n)
			calls     int
			successes int
		)
		for round := range 3 {
			for k := 1; k <= n; k++ {
				// Round 0: its own host and client name (the code's case
				// changed); round 1: the next license's host; round 2: the
				// next license's client name. Every tenth code does not
				// exist.
				code, host, client := fmt.Sprintf("cb-%d", k), fmt.Sprintf("host-%d.example.com", k), fmt.Sprintf("  client-%d ", k)
				switch round {
				case 1:
					host = fmt.Sprintf("host-%d.example.com", k+1)
				case 2:
					client = fmt.Sprintf("Client-%d", k+1)
				}
				if k%10 == 0 {
					code = fmt.Sprintf("CB-NONE-%d", k)
				}
				var want *Failure
				switch {
				case k%10 == 0:
					want = failed(FailVerifyInvalid)
				case k%3 == 0:
					want = failed(FailBlocked)
				case round > 0:
					want = failed(FailVerifyInvalid)
				case k%5 == 0:
					want = failed(FailDeactivated)
				default:
					successes++
				}
				calls++
				wg.Go(func() {
					v, err := s.VerifyCode(f.ctx, tapped.Bun, f.set, VerifyCodeRequest{Product: f.product, LicenseCode: code, ClientName: client,
						Caller: Caller{Host: host}})
					if err != nil || (v.Failure == nil) != (want == nil) || (want != nil && *v.Failure != *want) {
						errs <- fmt.Sprintf("unprepared %v: %s from %s as %q: %+v, %v; want %+v", unprepared, code, host, client, v.Failure, err, want)
					}
					if err == nil && v.Failure == nil {
						verified.Store(k, true)
					}
				})
			}
		}
		eventually.True(t, 10*time.Second, "verify's reads waiting for the lock", func() bool {
			var waiting int
			err := f.d.Bun.NewRaw("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'licenses'::regclass").Scan(f.ctx, &waiting)
			return err == nil && waiting > 0
		})
		if err := lock.Commit(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}

		var statements, batched int
		for _, trip := range tap.Take() {
			if !strings.Contains(trip.SQL, "FROM licenses AS l") {
				continue
			}
			if !unprepared && trip.Parsed && trip.Binds == 0 {
				continue // a connection's first use prepares the statement
			}
			statements++
			if strings.Contains(trip.SQL, codeBatchMarker) {
				batched++
			}
		}
		if statements >= calls || batched == 0 {
			t.Errorf("unprepared %v: %d verifies at once sent verify's statement %d times (%d of them batches), want fewer", unprepared, calls, statements, batched)
		}

		// Each success recorded its own activation, and nothing else.
		if err := rec.Flush(f.ctx); err != nil {
			t.Fatal(err)
		}
		var recorded []int64
		if err := f.d.Bun.NewRaw("SELECT id FROM activations WHERE license_code LIKE 'CB-%' AND last_verified_at IS NOT NULL ORDER BY id").Scan(f.ctx, &recorded); err != nil {
			t.Fatal(err)
		}
		var want []int64
		verified.Range(func(k, _ any) bool {
			want = append(want, ids[k.(int)-1])
			return true
		})
		slices.Sort(want)
		if len(want) != successes || !slices.Equal(recorded, want) {
			t.Errorf("unprepared %v: %d successes recorded activations %v, want %v", unprepared, successes, recorded, want)
		}
		if _, err := f.d.Bun.ExecContext(f.ctx, "UPDATE activations SET last_verified_at = NULL"); err != nil {
			t.Fatal(err)
		}
	}
}

// A batch of verify by code's reads (codeStatesSQL) is, for each key, the
// index lookups of a read alone (licenses' license_code, then
// activations_license_host_idx), with and without statistics, custom or
// generic plan alike: never a read of a whole table or a hash of one, so
// its cost grows with the batch, not with the licenses or activations.
func TestVerifyCodeBatchPlanNeedsNoStatistics(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	const licenses, perLicense = 2000, 10
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code)
		SELECT ?, 'BULK-' || i FROM generate_series(1, ?) AS i`, f.product.ID, licenses); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO activations (license_id, product_id, license_code, domain, client_name)
		SELECT l.id, l.product_id, l.license_code, 'host-' || j || '.example.com', 'Client'
		FROM licenses AS l, generate_series(1, ?) AS j`, perLicense); err != nil {
		t.Fatal(err)
	}
	conn, err := f.d.Bun.Conn(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	exec := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(f.ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	exec("PREPARE verify_codes (text[], bigint[], text[], text[]) AS " + codeStatesSQL)
	// 64 keys, a full batch: 59 found with an activation on the host, a
	// code twice, one missing, one on no host of its license, one by
	// another client.
	var codes, products, hosts, clients []string
	key := func(code, host, client string) {
		codes, products, hosts, clients = append(codes, code), append(products, fmt.Sprint(f.product.ID)), append(hosts, host), append(clients, client)
	}
	for i := range 59 {
		key(fmt.Sprintf("bulk-%d", 1+i*33), fmt.Sprintf("host-%d.example.com", 1+i%perLicense), "client")
	}
	key("BULK-7", "host-3.example.com", "")
	key("BULK-7", "host-3.example.com", "")
	key("BULK-NONE", "host-3.example.com", "")
	key("BULK-8", "", "")
	key("BULK-9", "host-3.example.com", "someone")
	arr := func(v []string) string { return `'{"` + strings.Join(v, `","`) + `"}'` }
	args := strings.Join([]string{arr(codes), arr(products), arr(hosts), arr(clients)}, ", ")
	check := func(when string) {
		t.Helper()
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			exec("SET plan_cache_mode = " + mode)
			var lines []string
			if err := conn.NewRaw("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE verify_codes("+args+")").Scan(f.ctx, &lines); err != nil {
				t.Fatal(err)
			}
			p := strings.Join(lines, "\n")
			// 64 keys: one row each, but for the missing code.
			if !strings.HasPrefix(p, "Nested Loop") || !strings.Contains(lines[0], " rows=63 ") || !strings.Contains(p, "Function Scan") ||
				!strings.Contains(p, "activations_license_host_idx") || !strings.Contains(p, "Index Cond: (license_code = ") ||
				!strings.Contains(p, "Index Scan using licenses_license_code_hash_idx on licenses") ||
				strings.Contains(p, "Seq Scan") || strings.Contains(p, "Hash") || strings.Contains(p, "activations_product_id_idx") {
				t.Fatalf("%s, %s:\n%s", when, mode, p)
			}
		}
	}
	check("no statistics")
	exec("ANALYZE licenses, activations")
	check("after ANALYZE")
}

// A verify by code whose batch fails (its connection ended while it
// waited) gets the error, each of them, and no verdict; the verifies after
// it are answered again.
func TestVerifyCodeBatchErrorReachesEveryCaller(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	f.license("CBE", LicenseInput{})
	f.mustActivate("CBE", "", caller("shop.example.com"))
	ctx := context.Background()
	lock, err := f.d.Bun.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback() }()
	if _, err := lock.ExecContext(ctx, "LOCK TABLE licenses IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	verify := func() (Verdict, error) {
		return f.s.VerifyCode(ctx, f.d.Bun, f.set, VerifyCodeRequest{Product: f.product, LicenseCode: "CBE", Caller: caller("shop.example.com")})
	}
	// waiting is the pids of the backends whose statement of query's
	// form waits for the lock.
	waiting := func(batch bool) []int {
		var pids []int
		like := "%FROM licenses AS l%"
		if batch {
			like = "%" + codeBatchMarker + "%"
		}
		if err := f.d.Bun.NewRaw(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
			AND query LIKE ? AND (? OR query NOT LIKE ?)`, like, batch, "%"+codeBatchMarker+"%").Scan(ctx, &pids); err != nil {
			t.Fatal(err)
		}
		return pids
	}
	terminate := func(pids []int) {
		for _, pid := range pids {
			if _, err := f.d.Bun.ExecContext(ctx, "SELECT pg_terminate_backend(?)", pid); err != nil {
				t.Fatal(err)
			}
		}
	}
	type answer struct {
		v   Verdict
		err error
	}
	answers := make(chan answer, 16)
	// A read goes out alone and waits for the lock; the next ones, fewer
	// than stateMinOverlap, queue behind it.
	go func() { v, err := verify(); answers <- answer{v, err} }()
	eventually.True(t, 10*time.Second, "the read alone waiting", func() bool { return len(waiting(false)) == 1 })
	const queued = 5
	for range queued {
		go func() { v, err := verify(); answers <- answer{v, err} }()
	}
	// Their batch goes out once a read alone comes back, here with the
	// end of its connection.
	eventually.True(t, 10*time.Second, "the queued verifies", func() bool {
		return f.s.codeBatcher(f.d.SQL).Waiting() == queued
	})
	terminate(waiting(false))
	eventually.True(t, 10*time.Second, "the batch waiting", func() bool { return len(waiting(true)) == 1 })
	terminate(waiting(true))
	for i := range 1 + queued {
		a := <-answers
		if a.err == nil {
			t.Errorf("answer %d of a failed read: %+v", i, a.v.Failure)
		}
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if v, err := verify(); err != nil || v.Failure != nil {
		t.Fatalf("a verify after the failed batch: %+v, %v", v.Failure, err)
	}
}
