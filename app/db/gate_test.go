package db_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/test/eventually"
)

// TestPoolFailsFastWhileTheServerIsDown stops a real server under an open
// pool: the first query meets the outage, the next ones are answered
// without a connection attempt (ErrDown, still Unavailable: a 503), and
// once the server is back the pool's probe lets queries through again
// without anyone retrying by hand.
func TestPoolFailsFastWhileTheServerIsDown(t *testing.T) {
	requirePostgres(t)
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(reachableTempDir(t), "postgres")
	c := startEmbedded(t, dir)
	d, err := db.Open(ctx, c.DSN(), db.PoolOptions{MaxOpenConns: 4, MaxIdleConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.SQL.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}

	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = d.SQL.ExecContext(ctx, "SELECT 1")
	if err == nil || !db.Unavailable(err) {
		t.Fatalf("first query after the stop: %v, want an unavailable error", err)
	}
	if errors.Is(err, db.ErrDown) {
		t.Fatalf("the first query was not tried: %v", err)
	}
	// Nothing can connect while the server is stopped, so each of these
	// is refused by the gate itself.
	for i := range 20 {
		_, err := d.SQL.ExecContext(ctx, "SELECT 1")
		if !errors.Is(err, db.ErrDown) || !db.Unavailable(err) {
			t.Fatalf("query %d while the server is down: %v, want ErrDown and unavailable", i, err)
		}
	}
	if err := d.Ping(ctx); !errors.Is(err, db.ErrDown) {
		t.Fatalf("ping while the server is down: %v, want ErrDown", err)
	}

	startEmbedded(t, dir)
	eventually.True(t, 15*time.Second, "queries go through after the server starts again", func() bool {
		_, err := d.SQL.ExecContext(ctx, "SELECT 1")
		return err == nil
	})
}
