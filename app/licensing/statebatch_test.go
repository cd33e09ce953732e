package licensing

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Many verifies at once, of different activations, batch their reads
// (statebatch.go) and each still answers from its own activation: a
// verify that read another's state would meet another host, or another
// license's block, and answer otherwise. Prepared and unprepared alike;
// missing activations among them answer as missing.
func TestConcurrentVerifiesReadTheirOwnState(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	const n = 300
	// Activation i is on host-i; every third license is blocked.
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code, is_valid)
		SELECT ?, 'BATCH-' || i, i % 3 <> 0 FROM generate_series(1, ?) AS i`, f.product.ID, n); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := f.d.Bun.NewRaw(`INSERT INTO activations (license_id, product_id, license_code, domain)
		SELECT l.id, l.product_id, l.license_code, 'host-' || substr(l.license_code, 7) || '.example.com'
		FROM licenses AS l WHERE l.license_code LIKE 'BATCH-%' ORDER BY l.id RETURNING id`).Scan(f.ctx, &ids); err != nil {
		t.Fatal(err)
	}
	if len(ids) != n {
		t.Fatalf("%d activations", len(ids))
	}
	for _, unprepared := range []bool{false, true} {
		s := NewService(Options{Now: f.clock, Recorder: f.rec, Unprepared: unprepared})
		var wg sync.WaitGroup
		errs := make(chan string, 4*n)
		for round := range 2 {
			for i, id := range ids {
				wg.Go(func() {
					// Its own host, or (second round) the next one's; and a
					// missing activation now and then.
					k := i + 1
					host := fmt.Sprintf("host-%d.example.com", k)
					if round == 1 {
						host = fmt.Sprintf("host-%d.example.com", k+1)
					}
					if i%50 == 0 {
						id = -id
					}
					v, err := s.VerifyActivation(f.ctx, f.d.Bun, f.set, VerifyRequest{Product: f.product, ActivationID: id,
						TokenProductRef: f.product.ReferenceID, Caller: Caller{Host: host}})
					var want *Failure
					switch {
					case id < 0 || round == 1:
						want = failed(FailVerifyInvalid)
					case k%3 == 0:
						want = failed(FailBlocked)
					}
					if err != nil || (v.Failure == nil) != (want == nil) || (want != nil && *v.Failure != *want) {
						errs <- fmt.Sprintf("unprepared %v: activation %d from %s: %+v, %v; want %+v", unprepared, id, host, v.Failure, err, want)
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}

// A batch's read (activationStatesSQL) is index lookups by primary key, of
// the activations and of their licenses, with and without statistics,
// custom or generic plan alike, a small batch or a full one: never a read
// of a whole table (a full batch's join once hashed every license), so its
// cost grows with the batch, not with the table.
func TestActivationStatesPlanNeedsNoStatistics(t *testing.T) {
	t.Parallel()
	f := newLicFixture(t)
	const licenses, perLicense = 2000, 10
	if _, err := f.d.Bun.ExecContext(f.ctx, `INSERT INTO licenses (product_id, license_code)
		SELECT ?, 'BULK-' || i FROM generate_series(1, ?) AS i`, f.product.ID, licenses); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	if err := f.d.Bun.NewRaw(`INSERT INTO activations (license_id, product_id, license_code, domain)
		SELECT l.id, l.product_id, l.license_code, 'host-' || j || '.example.com'
		FROM licenses AS l, generate_series(1, ?) AS j RETURNING id`, perLicense).Scan(f.ctx, &ids); err != nil {
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
	exec("PREPARE verify_states (bigint[]) AS " + activationStatesSQL)
	small := fmt.Sprintf("'{%d,%d,%d,%d,-1}'", ids[0], ids[len(ids)/2], ids[len(ids)-1], ids[len(ids)/2])
	// A full batch (stateBatchMax): 62 activations of as many licenses,
	// one twice, one missing.
	full := []string{fmt.Sprint(ids[0]), "-1"}
	for i := range stateBatchMax - 2 {
		full = append(full, fmt.Sprint(ids[i*perLicense*31]))
	}
	batches := []struct {
		ids  string
		rows int
	}{{small, 3}, {"'{" + strings.Join(full, ",") + "}'", stateBatchMax - 2}}
	check := func(when string) {
		t.Helper()
		for _, b := range batches {
			for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
				exec("SET plan_cache_mode = " + mode)
				var lines []string
				if err := conn.NewRaw("EXPLAIN (ANALYZE, COSTS OFF) EXECUTE verify_states("+b.ids+")").Scan(f.ctx, &lines); err != nil {
					t.Fatal(err)
				}
				p := strings.Join(lines, "\n")
				if !strings.Contains(p, "activations_pkey") || !strings.Contains(p, "licenses_pkey") || strings.Contains(p, "Seq Scan") ||
					strings.Contains(p, "Hash") || !strings.Contains(lines[0], fmt.Sprintf(" rows=%d ", b.rows)) {
					t.Fatalf("%s, %s, %d rows:\n%s", when, mode, b.rows, p)
				}
			}
		}
	}
	check("no statistics")
	exec("ANALYZE licenses, activations")
	check("after ANALYZE")
}
