package pipeline

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db/dbtest"
)

// flushTogether runs the flushes at once, rounds times after fill, and
// fails on any error: two nodes' flushes of the same rows lock them in
// key order (docs/architecture.md#lock-order), so one waits for the other
// instead of both failing on a deadlock. Many rounds, since a round whose
// flushes do not overlap proves nothing.
func flushTogether(t *testing.T, rounds int, fill func(round int), flushes ...func(context.Context) error) {
	t.Helper()
	for round := range rounds {
		fill(round)
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, len(flushes))
		for _, flush := range flushes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- flush(context.Background())
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

func TestConcurrentCallCounterFlushesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	nodes := [2]*CallCounter{NewCallCounter(d.Bun, nil), NewCallCounter(d.Bun, nil)}
	for _, cc := range nodes {
		cc.flush.Stop() // flushed by hand
	}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const scopes, rounds = 40, 200
	flushTogether(t, rounds, func(int) {
		for _, cc := range nodes {
			for s := range scopes {
				cc.Count(fmt.Sprintf("scope:%02d", s), now)
			}
		}
	}, nodes[0].Flush, nodes[1].Flush)
	var wrong int
	if err := d.Bun.NewRaw("SELECT count(*) FROM api_call_counts WHERE calls <> ?", 2*rounds).Scan(context.Background(), &wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Fatalf("%d counters not at %d", wrong, 2*rounds)
	}
}

func TestConcurrentKeyUsageFlushesDoNotDeadlock(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	var keys []*apikeys.Key
	for i := range 40 {
		_, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: fmt.Sprintf("key %d", i), Type: apikeys.TypeExternal}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	// Each node on a session planning as for a production-sized table:
	// nested loops driven by the batch's arrays, which lock in their
	// order. Forty rows alone would be a hash join over a scan of the
	// table, locking in its physical order, the same for both.
	var nodes [2]*KeyUsage
	for n := range nodes {
		conn, err := d.Bun.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		if _, err := conn.ExecContext(ctx, "SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_seqscan = off"); err != nil {
			t.Fatal(err)
		}
		nodes[n] = NewKeyUsage(bun.IDB(conn), nil)
		nodes[n].flush.Stop() // flushed by hand
	}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	const rounds = 200
	last := func(round, node int) time.Time { return t0.Add(time.Duration(2*round+node) * time.Minute) }
	flushTogether(t, rounds, func(round int) {
		for n, u := range nodes {
			for _, k := range keys {
				u.Used(k, last(round, n))
			}
		}
	}, nodes[0].Flush, nodes[1].Flush)
	var wrong int
	if err := d.Bun.NewRaw("SELECT count(*) FROM api_keys WHERE last_used_at IS DISTINCT FROM ?", last(rounds-1, 1)).Scan(ctx, &wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Fatalf("%d keys' last use is not the latest", wrong)
	}
}

// A flush that fails (here: its context is done) keeps its uses for the
// next one; before, they were dropped and the key's use went unwritten
// until its next use a minute later.
func TestKeyUsageKeepsAFailedFlushesUses(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	_, k, err := apikeys.Create(ctx, d.Bun, apikeys.CreateParams{Name: "Shop", Type: apikeys.TypeExternal}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u := NewKeyUsage(d.Bun, nil)
	u.flush.Stop() // flushed by hand
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	u.Used(k, t0)
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := u.Flush(done); err == nil {
		t.Fatal("a flush with a cancelled context succeeded")
	}
	if err := u.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var at *time.Time
	if err := d.Bun.NewRaw("SELECT last_used_at FROM api_keys WHERE id = ?", k.ID).Scan(ctx, &at); err != nil {
		t.Fatal(err)
	}
	if at == nil || !at.Equal(t0) {
		t.Fatalf("last_used_at %v after the retry, want %v", at, t0)
	}
}
