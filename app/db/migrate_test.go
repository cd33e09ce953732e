package db_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
)

func open(t *testing.T, dsn string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dsn, db.PoolOptions{MaxOpenConns: 5, MaxIdleConns: 1, ConnMaxLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestMigrateEmptyDatabaseTwice(t *testing.T) {
	ctx := context.Background()
	d := open(t, dbtest.NewEmptyDSN(t))

	first, err := db.Migrate(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Applied) == 0 || len(first.RiverApplied) == 0 {
		t.Fatalf("an empty database must get every migration, got %+v", first)
	}
	second, err := db.Migrate(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Applied) != 0 || len(second.RiverApplied) != 0 {
		t.Fatalf("migrating twice must apply nothing the second time, got %+v", second)
	}
	for _, table := range []string{"admins", "kv_store", "api_keys", "river_job"} {
		var ok bool
		if err := d.Bun.NewRaw("SELECT to_regclass(?) IS NOT NULL", table).Scan(ctx, &ok); err != nil || !ok {
			t.Fatalf("table %s missing after migrate (%v)", table, err)
		}
	}
}

// Two nodes starting at once both migrate; the advisory lock makes them take
// turns, so both succeed and every migration is applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	dsn := dbtest.NewEmptyDSN(t)
	a, b := open(t, dsn), open(t, dsn)

	var wg sync.WaitGroup
	results := make([]*db.MigrateResult, 2)
	errs := make([]error, 2)
	for i, d := range []*db.DB{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = db.Migrate(ctx, d)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	total := len(results[0].Applied) + len(results[1].Applied)
	if total == 0 || (len(results[0].Applied) > 0 && len(results[1].Applied) > 0) {
		t.Fatalf("each migration must be applied by exactly one node: %v / %v", results[0].Applied, results[1].Applied)
	}
}
