package external_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

// TestUncachedVerifyIsOneStatement counts on the wire (dbtest.Tap) what
// verify without the cache sends to the database (docs/benchmarks.md): at
// most one statement per verify, by token or by code. A verify alone sends
// one round trip of one statement — the prepared one bound again, or
// behind a transaction pooler (database.prepared_statements off) the
// unnamed one parsed and bound in the same trip — and nothing else: the
// round trips that are not verify's are the batched bookkeeping writes, a
// few a second whatever the load. Many verifies by token at once share
// statements: the reads that wait while the pool's batches are out go
// together in one (app/licensing/statebatch.go), each verify still
// answered from its own activation.
func TestUncachedVerifyIsOneStatement(t *testing.T) {
	t.Parallel()
	for _, prepared := range []bool{true, false} {
		t.Run(fmt.Sprintf("prepared=%v", prepared), func(t *testing.T) {
			t.Parallel()
			a := newAPIEnv(t, func(c *config.Config) {
				c.API.VerifyCacheSize = 0
				c.Database.PreparedStatements = prepared
			})
			tap := dbtest.StartTap(t, a.DB.DSN)
			d, err := db.Open(context.Background(), tap.URL, db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, DirectURL: a.DB.DSN})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			app := a.NewAppOn(t, d)
			const host = "https://trips.example.com"
			call := func(body map[string]any) {
				t.Helper()
				r := a.do(app, req{path: modern.verify, headers: []string{"X-API-KEY", a.key, "X-API-URL", host}, json: body})
				if r.StatusCode != 200 || r.JSON["status"] != true {
					t.Fatalf("verify: %d %s", r.StatusCode, r.Body)
				}
			}
			a.license(nil, "TRIPS")
			r := a.do(app, req{path: modern.activate, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
				json: map[string]any{"product_id": "ACME", "license_code": "TRIPS"}})
			if r.JSON["status"] != true {
				t.Fatalf("activate: %s", r.Body)
			}
			byToken := map[string]any{"product_id": "ACME", "license_data": r.str("lic_response")}
			startReads := false
			byCode := map[string]any{"product_id": "ACME", "license_code": "TRIPS"}

			for _, form := range []struct {
				name string
				body map[string]any
				// from is how verify's statement begins to read.
				from string
			}{
				{"token", byToken, "FROM activations AS a JOIN licenses AS l"},
				{"code", byCode, "FROM licenses AS l\n\tLEFT JOIN activations"},
			} {
				// The first verify on each connection prepares the statement.
				for range 8 {
					call(form.body)
				}
				tap.Take()
				const n = 60
				for range n {
					call(form.body)
				}
				var verifies, others []dbtest.Trip
				prepares := 0
				for _, trip := range tap.Take() {
					switch {
					case !strings.Contains(trip.SQL, form.from):
						others = append(others, trip)
					case prepared && trip.Parsed && trip.Binds == 0:
						// A pooled connection the warm-up did not use (the
						// bookkeeping's, say) prepares it at its first verify.
						prepares++
					default:
						verifies = append(verifies, trip)
					}
				}
				if len(verifies) != n || prepares > 4 {
					t.Errorf("%s: %d verifies sent verify's statement %d times (and prepared it %d times), want once each", form.name, n, len(verifies), prepares)
				}
				for _, trip := range verifies {
					if trip.Binds != 1 || trip.Simple || trip.Parsed == prepared || (trip.Statement != "") != prepared {
						t.Errorf("%s: verify's round trip %+v, want one bound statement, prepared %v", form.name, trip, prepared)
						break
					}
				}
				// Bookkeeping (the verify recorder, call counts) is written in
				// batches, about once a second: far fewer than the verifies.
				if len(others) > n/4 {
					t.Errorf("%s: %d verifies sent %d other round trips:", form.name, n, len(others))
				}
				for _, trip := range others {
					if !startReads && strings.Contains(trip.SQL, "plugin_settings") {
						// The node's plugin settings, read again once
						// after its listener starts (app/plugins
						// Subscribe: Reset, in a goroutine of its own),
						// may reach the wire only now on a busy machine:
						// the node's start-up, not verify's.
						startReads = true
						continue
					}
					if strings.HasPrefix(strings.TrimSpace(strings.ToUpper(trip.SQL)), "SELECT") {
						t.Errorf("%s: a read beside verify's: %+v", form.name, trip)
					}
				}
				if t.Failed() {
					for _, trip := range others {
						t.Logf("other: %+v", trip)
					}
				}
			}

			// Many verifies of many activations at once. The licenses
			// table is locked meanwhile, so the first batches wait in
			// PostgreSQL and the verifies behind them queue.
			const clients, each = 30, 4
			a.license(nil, "TRIPS-MANY", parallel(clients))
			bodies, hosts := make([]map[string]any, clients), make([]string, clients)
			for i := range clients {
				hosts[i] = fmt.Sprintf("https://trips-%d.example.com", i)
				r := a.do(app, req{path: modern.activate, headers: []string{"X-API-KEY", a.key, "X-API-URL", hosts[i]},
					json: map[string]any{"product_id": "ACME", "license_code": "TRIPS-MANY"}})
				if r.JSON["status"] != true {
					t.Fatalf("activate: %s", r.Body)
				}
				bodies[i] = map[string]any{"product_id": "ACME", "license_data": r.str("lic_response")}
			}
			ctx := context.Background()
			lock, err := a.DB.Bun.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = lock.Rollback() }()
			if _, err := lock.ExecContext(ctx, "LOCK TABLE licenses IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			tap.Take()
			var wg sync.WaitGroup
			for i := range clients {
				wg.Go(func() {
					for range each {
						r := a.do(app, req{path: modern.verify, headers: []string{"X-API-KEY", a.key, "X-API-URL", hosts[i]}, json: bodies[i]})
						if r.StatusCode != 200 || r.JSON["status"] != true {
							t.Errorf("verify %d: %d %s", i, r.StatusCode, r.Body)
						}
					}
				})
			}
			eventually.True(t, 10*time.Second, "verify's reads waiting for the lock", func() bool {
				var waiting int
				err := a.DB.Bun.NewRaw("SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'licenses'::regclass").Scan(ctx, &waiting)
				return err == nil && waiting > 0
			})
			if err := lock.Commit(); err != nil {
				t.Fatal(err)
			}
			wg.Wait()
			var statements, batched int
			for _, trip := range tap.Take() {
				// A read alone joins the license; a batch looks each up
				// (app/licensing activationStatesSQL).
				if !strings.Contains(trip.SQL, "FROM activations AS a JOIN licenses AS l") && !strings.Contains(trip.SQL, "FROM activations AS a CROSS JOIN LATERAL") {
					continue
				}
				if prepared && trip.Parsed && trip.Binds == 0 {
					// A connection's first batch prepares its statement.
					continue
				}
				statements++
				if strings.Contains(trip.SQL, "ANY(") {
					batched++
				}
				if trip.Binds != 1 || trip.Simple {
					t.Errorf("a round trip of verify's %+v, want one bound statement", trip)
				}
			}
			if statements >= clients*each || batched == 0 {
				t.Errorf("%d verifies at once sent verify's statement %d times (%d of them batches), want fewer", clients*each, statements, batched)
			}
		})
	}
}

// TestActivateRoundTrips counts on the wire what an activate sends
// (docs/benchmarks.md#activate): two round trips, BEGIN sent with the
// statement that locks the license by raising its counters and draws the
// activation's id, and the statement that writes the activation and the
// activity log sent with COMMIT (db.RunPipelined). The license is written
// by that one statement only: locking it with SELECT … FOR UPDATE and
// updating it later found, locked and wrote the row twice. Prepared, every
// statement of both trips is bound by name, prepared on an earlier trip;
// behind a pooler (prepared statements off) each is parsed unnamed in its
// trip. With a webhook of activate's enabled, its hooks enqueue River jobs,
// which need a database/sql transaction: activate then sends BEGIN and
// COMMIT on their own, four round trips and the webhook's, and the
// webhook is queued. Prepared and pipelined, the lock is bound with the
// description pgx keeps for it, not described again (db.Pipe.QueryRaw).
func TestActivateRoundTrips(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		prepared, webhooks bool
		want               []string
	}{
		{true, false, []string{"begin + lock and count", "activation + commit"}},
		{false, false, []string{"begin + lock and count", "activation + commit"}},
		{true, true, []string{"begin", "lock and count", "activation", "webhook", "commit"}},
	} {
		t.Run(fmt.Sprintf("prepared=%v,webhooks=%v", tc.prepared, tc.webhooks), func(t *testing.T) {
			t.Parallel()
			prepared := tc.prepared
			a := newAPIEnv(t, func(c *config.Config) { c.Database.PreparedStatements = prepared })
			if tc.webhooks {
				a.SetSettings(t, map[string]string{"enable_webhooks": "true", "webhook_url": "https://hooks.example.com/licensor", "webhook_events": "activation.created"})
			}
			tap := dbtest.StartTap(t, a.DB.DSN)
			d, err := db.Open(context.Background(), tap.URL, db.PoolOptions{MaxOpenConns: 1, MaxIdleConns: 1, ConnMaxLifetime: time.Hour, DirectURL: a.DB.DSN})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			app := a.NewAppOn(t, d)
			a.license(nil, "TRIPS-ACT")
			activate := func(host string) {
				t.Helper()
				r := a.do(app, req{path: modern.activate, headers: []string{"X-API-KEY", a.key, "X-API-URL", host},
					json: map[string]any{"product_id": "ACME", "license_code": "TRIPS-ACT"}})
				if r.StatusCode != 200 || r.JSON["status"] != true {
					t.Fatalf("activate: %d %s", r.StatusCode, r.Body)
				}
			}
			// The first activation may also set the license's first domain
			// or start its clock; the second prepares the statements.
			// The tap records a message after relaying it, so an activate's
			// COMMIT may be recorded just after its answer: each activate's
			// trips are taken up to their COMMIT.
			// The batched bookkeeping (API call counts, key use) may be
			// recorded after that COMMIT: it is passed over.
			var taken []dbtest.Trip
			untilCommit := func() []dbtest.Trip {
				t.Helper()
				eventually.True(t, 10*time.Second, "activate's COMMIT on the wire", func() bool {
					taken = append(taken, tap.Take()...)
					for i := len(taken) - 1; i >= 0; i-- {
						if !bookkeeping(taken[i]) {
							return strings.EqualFold(taken[i].Last(), "commit")
						}
					}
					return false
				})
				trips := taken
				taken = nil
				return trips
			}
			activate("https://one.example.com")
			activate("https://two.example.com")
			untilCommit()
			activate("https://three.example.com")
			var trips []dbtest.Trip
			for _, trip := range untilCommit() {
				if bookkeeping(trip) {
					continue
				}
				trips = append(trips, trip)
			}
			var kinds []string
			licenseWrites := 0
			for _, trip := range trips {
				var kind []string
				for _, text := range trip.Statements {
					sql := strings.ToUpper(strings.Join(strings.Fields(text), " "))
					switch {
					case sql == "BEGIN" || sql == "COMMIT":
						kind = append(kind, strings.ToLower(sql))
					case strings.HasPrefix(sql, "UPDATE LICENSES AS L SET TOTAL_ACTIVATIONS"):
						kind = append(kind, "lock and count")
					case strings.Contains(sql, "INSERT INTO ACTIVATIONS"):
						kind = append(kind, "activation")
					case strings.Contains(sql, "WEBHOOK_DELIVERIES") || strings.Contains(sql, "RIVER_JOB"),
						// River wakes its producers with pg_notify after an insert,
						// at most once per queue and fetch cooldown (jobs.go): whether
						// an activate's transaction carries it is timing (seen on a
						// slow machine). It is the job's, not activate's.
						strings.Contains(sql, "PG_NOTIFY("):
						kind = append(kind, "webhook")
					default:
						kind = append(kind, text)
					}
					if strings.Contains(sql, "LICENSES") {
						licenseWrites++
					}
				}
				k := strings.Join(kind, " + ")
				if k == "webhook" {
					// bun's and River's statements, unprepared: the
					// delivery's row and its job are one.
					if len(kinds) == 0 || kinds[len(kinds)-1] != k {
						kinds = append(kinds, k)
					}
					continue
				}
				kinds = append(kinds, k)
				if prepared && slices.ContainsFunc(trip.Described, func(text string) bool { return strings.Contains(text, "RETURNING l.*") }) {
					t.Errorf("round trip %+v: the prepared lock was described again (its kept description is enough)", trip)
				}
				if prepared && trip.Parsed && !trip.Simple {
					t.Errorf("round trip %+v: want its statements prepared before", trip)
				}
				if !prepared && !trip.Simple && trip.Binds != len(trip.Statements) {
					t.Errorf("round trip %+v: want each statement bound once", trip)
				}
			}
			if !slices.Equal(kinds, tc.want) || licenseWrites != 1 {
				t.Errorf("activate sent %q (%d statements naming licenses), want %q (1)", kinds, licenseWrites, tc.want)
				for _, trip := range trips {
					t.Logf("%+v", trip)
				}
			}
			if tc.webhooks {
				var n int
				if err := a.DB.Bun.NewRaw("SELECT count(*) FROM webhook_deliveries WHERE event = 'activation.created'").Scan(context.Background(), &n); err != nil || n != 3 {
					t.Errorf("%d activation.created deliveries (%v), want 3", n, err)
				}
			}
		})
	}
}

// bookkeeping reports whether trip is the API's batched bookkeeping (API
// call counts, key use), which is not activate's.
func bookkeeping(trip dbtest.Trip) bool {
	return strings.Contains(trip.SQL, "api_call_counts") || strings.Contains(trip.SQL, "api_keys")
}
