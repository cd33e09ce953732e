package ratelimit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/test/eventually"
)

func storedHits(t *testing.T, l *BatchLimiter, bucket string) int {
	t.Helper()
	var n int
	err := l.db.NewRaw("SELECT coalesce(sum(hits), 0) FROM rate_limits WHERE bucket = ?", bucket).Scan(context.Background(), &n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBatchLimiterSmallLimitIsExactAcrossNodes(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC)
	nodes := []*BatchLimiter{NewBatchLimiter(d.Bun, nil), NewBatchLimiter(d.Bun, nil)}
	for i := range 7 {
		r, err := nodes[i%2].Hit(ctx, "b", 5, clock)
		if err != nil {
			t.Fatal(err)
		}
		wantAllowed := i < 5
		if r.Allowed != wantAllowed || r.Limit != 5 || r.Remaining != max(0, 5-(i+1)) {
			t.Fatalf("hit %d: %+v, want allowed %v", i+1, r, wantAllowed)
		}
		if !r.Allowed && (r.RetryAfter != 55*time.Second) {
			t.Fatalf("hit %d: RetryAfter %s, want 55s", i+1, r.RetryAfter)
		}
	}
	// The next minute is a new window.
	clock = clock.Add(time.Minute)
	if r, _ := nodes[0].Hit(ctx, "b", 5, clock); !r.Allowed || r.Remaining != 4 {
		t.Fatalf("new window: %+v", r)
	}
	// Ended windows are forgotten as the next one starts.
	nodes[0].mu.Lock()
	n := len(nodes[0].buckets)
	nodes[0].mu.Unlock()
	if n != 1 {
		t.Fatalf("%d buckets held, want the current window's only", n)
	}
}

func TestBatchLimiterBatchesUnderHalfTheLimit(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	l := NewBatchLimiter(d.Bun, nil)
	l.flush.Stop() // flushed by hand below
	t.Cleanup(func() { _ = l.Close(ctx) })

	const limit = 200
	for i := range limit / 2 {
		r, err := l.Hit(ctx, "b", limit, clock)
		if err != nil || !r.Allowed || r.Remaining != limit-(i+1) {
			t.Fatalf("hit %d: %+v %v", i+1, r, err)
		}
	}
	if n := storedHits(t, l, "b"); n != 0 {
		t.Fatalf("batched hits were written at once: %d", n)
	}
	// Past half the limit each hit is written with what is pending.
	if r, err := l.Hit(ctx, "b", limit, clock); err != nil || !r.Allowed || r.Remaining != limit-101 {
		t.Fatalf("hit 101: %+v %v", r, err)
	}
	if n := storedHits(t, l, "b"); n != 101 {
		t.Fatalf("stored %d hits, want 101", n)
	}

	// Another node's hits are seen at its next write.
	other := NewBatchLimiter(d.Bun, nil)
	for range 50 {
		if _, err := other.Hit(ctx, "b", limit, clock); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := storedHits(t, l, "b"); n != 151 {
		t.Fatalf("stored %d hits, want 151", n)
	}
	var last bool
	for i := 152; i <= 201; i++ {
		r, err := l.Hit(ctx, "b", limit, clock)
		if err != nil {
			t.Fatal(err)
		}
		last = r.Allowed
		if (i <= limit) != r.Allowed {
			t.Fatalf("hit %d: allowed %v", i, r.Allowed)
		}
	}
	if last {
		t.Fatal("hit 201 allowed")
	}
}

func TestBatchLimiterFlushesByItself(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	l := NewBatchLimiter(d.Bun, nil)
	t.Cleanup(func() { _ = l.Close(ctx) })
	now := time.Now()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := l.Hit(ctx, "auto", 1000, now); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if !eventually.Within(5*time.Second, func() bool { return storedHits(t, l, "auto") == 20 }) {
		t.Fatalf("stored %d hits after 5 s, want 20", storedHits(t, l, "auto"))
	}
}

// Two nodes flush the same buckets at once, each collected in a Go map:
// the flush writes them in key order (docs/architecture.md#lock-order), so
// one waits for the other instead of both failing on a deadlock. Several
// rounds, since a round whose flushes do not overlap proves nothing.
func TestConcurrentFlushesOfTheSameBucketsDoNotDeadlock(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	clock := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	nodes := [2]*BatchLimiter{NewBatchLimiter(d.Bun, nil), NewBatchLimiter(d.Bun, nil)}
	const buckets, rounds = 40, 50
	for round := range rounds {
		for _, l := range nodes {
			for b := range buckets {
				if _, err := l.Hit(ctx, fmt.Sprintf("b%02d", b), 1000, clock); err != nil {
					t.Fatal(err)
				}
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make(chan error, len(nodes))
		for _, l := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs <- l.Flush(ctx)
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
	for b := range buckets {
		if got := storedHits(t, nodes[0], fmt.Sprintf("b%02d", b)); got != 2*rounds {
			t.Fatalf("bucket b%02d: %d hits stored, want %d", b, got, 2*rounds)
		}
	}
}
