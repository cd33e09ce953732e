package ratelimit

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/delayed"
)

// batchWindow is the API's rate-limit window: clock-aligned minutes
// (docs/api/authentication.md#rate-limiting).
const batchWindow = time.Minute

// flushDelay is how long a node keeps increments before writing them
// (docs/api/authentication.md#rate-limiting: "A node may batch its increments
// for up to one second").
const flushDelay = time.Second

// minBatchedLimit: below this many requests per minute every hit is
// written at once. Such limits mean little traffic, and a second of
// unwritten hits from each node would be a large share of them.
const minBatchedLimit = 100

// BatchLimiter is the API's rate limiter: fixed one-minute windows counted
// in the rate_limits table, as Limiter counts them, shared by every node.
// To keep the write off most requests a node batches its increments: while the
// bucket's count, as far as this node knows, is under half the limit, a
// hit is only counted in memory and written with the others within a
// second (one statement per flush for every bucket). Closer to the limit,
// and for limits under minBatchedLimit, each hit is written at once and
// the answer is the shared count. A bucket can thus run over its limit by
// what other nodes have not yet written, never more than half the limit
// each; a request is never refused before the shared count passes the
// limit.
//
// It reads no clock: each hit comes with its time (the API's request
// time, or the node's clock where a test sets one), so every node computes
// the same window for the same moment.
type BatchLimiter struct {
	db     bun.IDB
	logger *slog.Logger

	mu      sync.Mutex
	buckets map[bucketWindow]*bucketCount
	// window is the latest window a hit fell in; when a new one starts,
	// the written counts of earlier ones are forgotten.
	window int64
	flush  *delayed.Run
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

// NewBatchLimiter returns a batching limiter writing to idb.
func NewBatchLimiter(idb bun.IDB, logger *slog.Logger) *BatchLimiter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &BatchLimiter{db: idb, logger: logger, buckets: map[bucketWindow]*bucketCount{}}
	l.flush = delayed.New(flushDelay, func(ctx context.Context) {
		if err := l.Flush(ctx); err != nil {
			l.logger.Warn("rate limit: flush counts", "error", err)
		}
	})
	return l
}

// Hit counts one request made at now in bucket against limit requests per
// minute.
func (l *BatchLimiter) Hit(ctx context.Context, bucket string, limit int, now time.Time) (Result, error) {
	if limit < 1 {
		return Result{}, fmt.Errorf("rate limit: limit %d must be positive", limit)
	}
	start := now.Truncate(batchWindow)
	bw := bucketWindow{bucket: bucket, start: start.Unix()}
	untilEnd := start.Add(batchWindow).Sub(now)

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
		l.flush.Schedule()
		return Result{Allowed: true, Remaining: remaining, Limit: limit}, nil
	}
	add := b.pending + 1
	b.pending = 0
	l.mu.Unlock()

	hits, err := l.write(ctx, []bucketWindow{bw}, []int{add})
	if err != nil {
		l.mu.Lock()
		b.pending += add
		l.mu.Unlock()
		return Result{}, err
	}
	n := hits[bw]
	l.mu.Lock()
	b.known = max(b.known, n)
	l.mu.Unlock()
	r := Result{Allowed: n <= limit, Remaining: max(0, limit-n), Limit: limit}
	if !r.Allowed {
		r.RetryAfter = untilEnd
	}
	return r, nil
}

// Flush writes every pending increment now, in one statement, and forgets
// the windows before the latest a hit fell in.
func (l *BatchLimiter) Flush(ctx context.Context) error {
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
	l.forgetEnded()
	l.mu.Unlock()
	if len(keys) == 0 {
		return nil
	}
	// The upsert locks rows in the arrays' order: in key order, not the
	// map's, so two nodes' flushes of the same buckets never wait on each
	// other in opposite orders (docs/architecture.md#lock-order).
	sortByKey(keys, adds)
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
func (l *BatchLimiter) forgetEnded() {
	for bw, b := range l.buckets {
		if bw.start < l.window && b.pending == 0 {
			delete(l.buckets, bw)
		}
	}
}

// Close writes what is pending; call it when the node stops.
func (l *BatchLimiter) Close(ctx context.Context) error {
	l.flush.Stop()
	return l.Flush(ctx)
}

// write adds adds[i] hits to keys[i] and returns the new shared counts.
// The statement is Limiter.Hit's upsert for many buckets and any
// increment.
func (l *BatchLimiter) write(ctx context.Context, keys []bucketWindow, adds []int) (map[bucketWindow]int, error) {
	ctx = db.Bookkeeping(ctx)
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

// sortByKey sorts keys by bucket and window, keeping adds[i] with keys[i].
func sortByKey(keys []bucketWindow, adds []int) {
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmp.Or(strings.Compare(keys[a].bucket, keys[b].bucket), cmp.Compare(keys[a].start, keys[b].start))
	})
	k2, a2 := make([]bucketWindow, len(keys)), make([]int, len(adds))
	for i, j := range idx {
		k2[i], a2[i] = keys[j], adds[j]
	}
	copy(keys, k2)
	copy(adds, a2)
}
