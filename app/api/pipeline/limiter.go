package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/ratelimit"
)

// rateWindow is the API's rate-limit window: clock-aligned minutes (§2.5).
const rateWindow = time.Minute

// flushDelay is how long a node keeps increments before writing them
// (§2.5: "A node may batch its increments for up to one second").
const flushDelay = time.Second

// minBatchedLimit: below this many requests per minute every hit is
// written at once. Such limits mean little traffic, and a second of
// unwritten hits from each node would be a large share of them.
const minBatchedLimit = 100

// Limiter is the API's rate limiter: fixed one-minute windows counted in
// the rate_limits table of app/ratelimit, shared by every node. To keep
// the write off most requests a node batches its increments: while the
// bucket's count, as far as this node knows, is under half the limit, a
// hit is only counted in memory and written with the others within a
// second (one statement per flush for every bucket). Closer to the limit,
// and for limits under minBatchedLimit, each hit is written at once and
// the answer is the shared count. A bucket can thus run over its limit by
// what other nodes have not yet written, never more than half the limit
// each; a request is never refused before the shared count passes the
// limit.
type Limiter struct {
	db     bun.IDB
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	buckets map[bucketWindow]*bucketCount
	// window is the latest window a hit fell in; when a new one starts,
	// the written counts of earlier ones are forgotten.
	window int64
	flush  *delayed
}

type bucketWindow struct {
	bucket string
	start  int64 // Unix seconds
}

type bucketCount struct {
	// known is the shared count last read from the database; pending are
	// this node's hits not yet written.
	known, pending int
}

// NewLimiter returns a limiter writing to idb.
func NewLimiter(idb bun.IDB, logger *slog.Logger) *Limiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{db: idb, now: time.Now, logger: logger, buckets: map[bucketWindow]*bucketCount{}}
	l.flush = newDelayed(flushDelay, func(ctx context.Context) {
		if err := l.Flush(ctx); err != nil {
			l.logger.Warn("rate limit: flush counts", "error", err)
		}
	})
	return l
}

// Hit counts one request in bucket against limit requests per minute.
func (l *Limiter) Hit(ctx context.Context, bucket string, limit int) (ratelimit.Result, error) {
	if limit < 1 {
		return ratelimit.Result{}, fmt.Errorf("rate limit: limit %d must be positive", limit)
	}
	now := l.now()
	start := now.Truncate(rateWindow)
	bw := bucketWindow{bucket: bucket, start: start.Unix()}
	untilEnd := start.Add(rateWindow).Sub(now)

	l.mu.Lock()
	if bw.start > l.window {
		l.window = bw.start
		l.forgetEnded()
	}
	b := l.buckets[bw]
	if b == nil {
		b = &bucketCount{}
		l.buckets[bw] = b
	}
	if limit >= minBatchedLimit && b.known+b.pending+1 <= limit/2 {
		b.pending++
		remaining := limit - b.known - b.pending
		l.mu.Unlock()
		l.flush.schedule()
		return ratelimit.Result{Allowed: true, Remaining: remaining, Limit: limit}, nil
	}
	add := b.pending + 1
	b.pending = 0
	l.mu.Unlock()

	hits, err := l.write(ctx, []bucketWindow{bw}, []int{add})
	if err != nil {
		l.mu.Lock()
		b.pending += add
		l.mu.Unlock()
		return ratelimit.Result{}, err
	}
	n := hits[bw]
	l.mu.Lock()
	b.known = max(b.known, n)
	l.mu.Unlock()
	r := ratelimit.Result{Allowed: n <= limit, Remaining: max(0, limit-n), Limit: limit}
	if !r.Allowed {
		r.RetryAfter = untilEnd
	}
	return r, nil
}

// Flush writes every pending increment now, in one statement, and forgets
// windows that have ended.
func (l *Limiter) Flush(ctx context.Context) error {
	current := l.now().Truncate(rateWindow).Unix()
	var keys []bucketWindow
	var adds []int
	l.mu.Lock()
	for bw, b := range l.buckets {
		if b.pending > 0 {
			keys = append(keys, bw)
			adds = append(adds, b.pending)
			b.pending = 0
		}
	}
	if current > l.window {
		l.window = current
	}
	l.forgetEnded()
	l.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	hits, err := l.write(ctx, keys, adds)
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, bw := range keys {
		b := l.buckets[bw]
		if b == nil {
			continue
		}
		if err != nil {
			b.pending += adds[i]
			continue
		}
		b.known = max(b.known, hits[bw])
	}
	return err
}

// forgetEnded drops the buckets of windows before l.window that have
// nothing left to write. Call with l.mu held.
func (l *Limiter) forgetEnded() {
	for bw, b := range l.buckets {
		if bw.start < l.window && b.pending == 0 {
			delete(l.buckets, bw)
		}
	}
}

// Close writes what is pending; call it when the node stops.
func (l *Limiter) Close(ctx context.Context) error {
	l.flush.stop()
	return l.Flush(ctx)
}

// write adds adds[i] hits to keys[i] and returns the new shared counts.
// The statement is app/ratelimit's upsert (Limiter.Hit) for many buckets
// and any increment; the table and its window semantics are that
// package's.
func (l *Limiter) write(ctx context.Context, keys []bucketWindow, adds []int) (map[bucketWindow]int, error) {
	buckets := make([]string, len(keys))
	starts := make([]int64, len(keys))
	for i, k := range keys {
		buckets[i], starts[i] = k.bucket, k.start
	}
	var rows []struct {
		Bucket string `bun:"bucket"`
		Start  int64  `bun:"start"`
		Hits   int    `bun:"hits"`
	}
	err := l.db.NewRaw(`INSERT INTO rate_limits (bucket, window_start, hits)
		SELECT v.bucket, to_timestamp(v.start), v.hits FROM unnest(?::text[], ?::bigint[], ?::integer[]) AS v (bucket, start, hits)
		ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + EXCLUDED.hits
		RETURNING bucket, extract(epoch FROM window_start)::bigint AS start, hits`,
		pgdialect.Array(buckets), pgdialect.Array(starts), pgdialect.Array(adds)).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("rate limit: count %d buckets: %w", len(keys), err)
	}
	out := make(map[bucketWindow]int, len(rows))
	for _, r := range rows {
		out[bucketWindow{bucket: r.Bucket, start: r.Start}] = r.Hits
	}
	return out, nil
}

// delayed runs fn once, delay after the first schedule since its last run,
// in its own goroutine: batches are written without a background loop
// that must be started and stopped, and nothing runs while idle.
type delayed struct {
	delay time.Duration
	fn    func(context.Context)

	mu        sync.Mutex
	scheduled bool
	stopped   bool
	wake      chan struct{}
	wg        sync.WaitGroup
}

func newDelayed(delay time.Duration, fn func(context.Context)) *delayed {
	return &delayed{delay: delay, fn: fn, wake: make(chan struct{})}
}

// flushTimeout bounds one background write.
const flushTimeout = 10 * time.Second

func (d *delayed) schedule() {
	d.mu.Lock()
	if d.scheduled || d.stopped {
		d.mu.Unlock()
		return
	}
	d.scheduled = true
	d.wg.Add(1)
	d.mu.Unlock()
	go func() {
		defer d.wg.Done()
		t := time.NewTimer(d.delay)
		select {
		case <-t.C:
		case <-d.wake:
			t.Stop()
			d.mu.Lock()
			d.scheduled = false
			d.mu.Unlock()
			return // stop: the caller flushes itself
		}
		d.mu.Lock()
		d.scheduled = false
		d.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
		defer cancel()
		d.fn(ctx)
	}()
}

// stop cancels a pending run and waits for a running one; later schedules
// do nothing.
func (d *delayed) stop() {
	d.mu.Lock()
	if !d.stopped {
		d.stopped = true
		close(d.wake)
	}
	d.mu.Unlock()
	d.wg.Wait()
}
