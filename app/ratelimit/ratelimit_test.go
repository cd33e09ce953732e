package ratelimit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/ratelimit"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestHitWindows(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	clk := &clock{t: time.Date(2025, 3, 1, 10, 7, 30, 0, time.UTC)}
	l := &ratelimit.Limiter{DB: d.Bun, Now: clk.now}
	const win = 15 * time.Minute // window 10:00–10:15

	for i := 1; i <= 3; i++ {
		r, err := l.Hit(ctx, "b", 3, win)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Allowed || r.Remaining != 3-i || r.Limit != 3 || r.RetryAfter != 0 {
			t.Fatalf("hit %d: %+v", i, r)
		}
	}
	r, err := l.Hit(ctx, "b", 3, win)
	if err != nil {
		t.Fatal(err)
	}
	if r.Allowed || r.Remaining != 0 || r.RetryAfter != 7*time.Minute+30*time.Second {
		t.Fatalf("hit over the limit: %+v", r)
	}
	// Other buckets are independent.
	if r, _ := l.Hit(ctx, "other", 3, win); !r.Allowed {
		t.Fatalf("other bucket: %+v", r)
	}
	// Peek does not count.
	p, err := l.Peek(ctx, "b", 3, win)
	if err != nil {
		t.Fatal(err)
	}
	if p.Allowed || p.Remaining != 0 {
		t.Fatalf("peek over the limit: %+v", p)
	}
	if p, _ := l.Peek(ctx, "fresh", 3, win); !p.Allowed || p.Remaining != 3 {
		t.Fatalf("peek fresh bucket: %+v", p)
	}

	// The next aligned window starts from zero.
	clk.t = time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC)
	if r, _ := l.Hit(ctx, "b", 3, win); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("first hit in the next window: %+v", r)
	}

	// Reset clears every window of the bucket.
	if err := l.Reset(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if p, _ := l.Peek(ctx, "b", 3, win); p.Remaining != 3 {
		t.Fatalf("after Reset: %+v", p)
	}

	// Prune drops windows that started before the cut-off.
	n, err := l.Prune(ctx, time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 { // "other" in the 10:00 window
		t.Errorf("Prune deleted %d, want 1", n)
	}
}

func TestHitConcurrent(t *testing.T) {
	t.Parallel()
	d := dbtest.New(t)
	ctx := context.Background()
	// A fixed clock, so the burst cannot straddle a window boundary.
	clk := &clock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	l := &ratelimit.Limiter{DB: d.Bun, Now: clk.now}
	const n = 40
	var wg sync.WaitGroup
	allowed := make(chan bool, n)
	for range n {
		wg.Go(func() {
			r, err := l.Hit(ctx, "race", 10, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			allowed <- r.Allowed
		})
	}
	wg.Wait()
	close(allowed)
	got := 0
	for a := range allowed {
		if a {
			got++
		}
	}
	if got != 10 {
		t.Errorf("%d concurrent hits allowed, want exactly 10", got)
	}
}

func TestBadArguments(t *testing.T) {
	l := &ratelimit.Limiter{}
	if _, err := l.Hit(context.Background(), "b", 0, time.Minute); err == nil {
		t.Error("limit 0 accepted")
	}
	if _, err := l.Peek(context.Background(), "b", 1, 0); err == nil {
		t.Error("window 0 accepted")
	}
}
