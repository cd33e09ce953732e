package db_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

// streamSQL reads 40 rows of 4 kB, one every 0.2 ms, so each is sent
// before the next is made.
const streamSQL = `SELECT i, repeat('x', 4096) AS pad FROM generate_series(1, 40) i, LATERAL (SELECT pg_sleep(0.0002 + i * 0)) s`

type streamed struct {
	I   int
	Pad string
}

// TestReadReplica runs the read pool against a real streaming replica
// started from a private primary: reads go to the replica while it keeps
// up, to the primary while its replay is paused beyond replica_max_lag
// and back once it catches up, and when the replica is stopped in the
// middle of a load of reads not one of them fails.
func TestReadReplica(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two PostgreSQL clusters")
	}
	t.Parallel()
	pg := dbtest.StartReplicated(t)
	ctx := context.Background()
	d, err := db.Open(ctx, pg.PrimaryURL, db.PoolOptions{
		MaxOpenConns: 8, MaxIdleConns: 8, ConnMaxLifetime: time.Hour,
		Replicas: db.ReplicaOptions{URLs: []string{pg.ReplicaURL}, MaxLag: 300 * time.Millisecond, Every: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if _, err := d.Bun.ExecContext(ctx, "CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	fromReplica := func() bool {
		var recovering bool
		if err := d.Reader().NewRaw("SELECT pg_is_in_recovery()").Scan(ctx, &recovering); err != nil {
			t.Errorf("read: %v", err)
		}
		return recovering
	}
	count := func() int {
		var n int
		if err := d.Reader().NewRaw("SELECT count(*) FROM items").Scan(ctx, &n); err != nil {
			t.Errorf("read: %v", err)
		}
		return n
	}
	eventually.True(t, 10*time.Second, "the replica has the table", func() bool {
		var ok bool
		_ = d.Reader().NewRaw("SELECT to_regclass('items') IS NOT NULL").Scan(ctx, &ok)
		return ok
	})
	if !fromReplica() {
		t.Fatalf("a read went to the primary while the replica is healthy: %+v", d.Replicas.Status())
	}
	var onPrimary bool
	if err := d.Bun.NewRaw("SELECT pg_is_in_recovery()").Scan(ctx, &onPrimary); err != nil || onPrimary {
		t.Fatalf("DB.Bun reads from a replica (%v, %v)", onPrimary, err)
	}

	// Replay paused: the replica falls behind, is skipped, and reads see
	// the primary's rows; resumed, it serves again.
	replica, err := db.Open(ctx, pg.ReplicaURL, db.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = replica.Close() }()
	if _, err := replica.Bun.ExecContext(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 3; i++ {
		if _, err := d.Bun.ExecContext(ctx, "INSERT INTO items VALUES (?)", i); err != nil {
			t.Fatal(err)
		}
	}
	eventually.True(t, 10*time.Second, "the lagging replica skipped", func() bool {
		st := d.Replicas.Status()
		return !st[0].Healthy && st[0].Lag > 300*time.Millisecond
	})
	if fromReplica() || count() != 3 {
		t.Fatal("a read went to a replica behind replica_max_lag")
	}
	if _, err := replica.Bun.ExecContext(ctx, "SELECT pg_wal_replay_resume()"); err != nil {
		t.Fatal(err)
	}
	eventually.True(t, 10*time.Second, "the replica caught up and serves again", func() bool { return d.Replicas.Status()[0].Healthy && fromReplica() })
	if count() != 3 {
		t.Fatal("the caught-up replica misses rows")
	}

	// The replica stopped under load: every read answers.
	var (
		reads, failures atomic.Int64
		wg              sync.WaitGroup
		stop            = make(chan struct{})
	)
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				if err := d.Reader().NewRaw("SELECT count(*) FROM items").Scan(ctx, &n); err != nil || n != 3 {
					failures.Add(1)
					t.Errorf("read while the replica stops: %d, %v", n, err)
				}
				// Rows that stream for a while: the replica may stop
				// after the first ones reached the pool.
				var rows []streamed
				if err := d.Reader().NewRaw(streamSQL).Scan(ctx, &rows); err != nil || len(rows) != 40 {
					failures.Add(1)
					t.Errorf("streamed read while the replica stops: %d rows, %v", len(rows), err)
				}
				reads.Add(2)
			}
		}()
	}
	eventually.True(t, 5*time.Second, "reads under way", func() bool { return reads.Load() > 200 })
	pg.StopReplica()
	before := reads.Load()
	eventually.True(t, 10*time.Second, "reads go on without the replica", func() bool { return reads.Load() > before+500 })
	close(stop)
	wg.Wait()
	if failures.Load() > 0 {
		t.Fatalf("%d of %d reads failed when the replica stopped", failures.Load(), reads.Load())
	}
	if d.Replicas.Status()[0].Healthy || fromReplica() {
		t.Fatal("the stopped replica is still used")
	}
	t.Logf("%d reads, none failed, the replica stopped after %d", reads.Load(), before)
}
