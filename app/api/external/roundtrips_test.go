package external_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
)

// TestUncachedVerifyIsOneStatement counts on the wire (dbtest.Tap) what
// verify without the cache sends to the database (docs/benchmarks.md):
// per verify, by token or by code, one round trip of one statement — the
// prepared one bound again, or behind a transaction pooler
// (database.prepared_statements off) the unnamed one parsed and bound in
// the same trip — and nothing else: the round trips that are not verify's
// are the batched bookkeeping writes, a few a second whatever the load.
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
				for _, trip := range tap.Take() {
					if strings.Contains(trip.SQL, form.from) {
						verifies = append(verifies, trip)
					} else {
						others = append(others, trip)
					}
				}
				if len(verifies) != n {
					t.Errorf("%s: %d verifies sent verify's statement %d times, want once each", form.name, n, len(verifies))
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
		})
	}
}
