// Package ratelimit counts hits in fixed, clock-aligned windows stored in
// the rate_limits table, so every node shares the same counters. It serves
// the console's and the portal's sign-in and email-form throttling
// (Limiter) and the API's per-minute limits (BatchLimiter, which batches
// its increments). It is the only writer of the table. Buckets are plain
// strings chosen by the caller ("admin-login:ip:203.0.113.9").
package ratelimit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Limiter counts hits per bucket. Now is the clock (time.Now when nil);
// windows start at multiples of their length, so every node computes the
// same window for the same moment.
type Limiter struct {
	DB  bun.IDB
	Now func() time.Time
}

// Result describes a bucket's window after a Hit or Peek.
type Result struct {
	// Allowed: for Hit, whether this hit is within the limit; for Peek,
	// whether one more hit would be.
	Allowed bool
	// Remaining hits in the window (never negative).
	Remaining int
	Limit     int
	// RetryAfter is how long until the window ends, set when !Allowed.
	RetryAfter time.Duration
}

// New returns a Limiter on db reading now, the node's clock (time.Now
// when nil).
func New(db bun.IDB, now func() time.Time) *Limiter { return &Limiter{DB: db, Now: now} }

// Hit counts one hit in bucket's current window and reports whether it is
// within limit. The increment is a single upsert, so concurrent hits from
// many nodes never lose counts.
func (l *Limiter) Hit(ctx context.Context, bucket string, limit int, window time.Duration) (Result, error) {
	now, start, err := l.window(limit, window)
	if err != nil {
		return Result{}, err
	}
	var hits int
	err = l.DB.QueryRowContext(ctx,
		`INSERT INTO rate_limits (bucket, window_start, hits) VALUES (?, ?, 1)
		 ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1
		 RETURNING hits`, bucket, start).Scan(&hits)
	if err != nil {
		return Result{}, fmt.Errorf("ratelimit: hit %s: %w", bucket, err)
	}
	return result(hits, hits <= limit, limit, start.Add(window).Sub(now)), nil
}

// Peek reports bucket's current window without counting a hit.
func (l *Limiter) Peek(ctx context.Context, bucket string, limit int, window time.Duration) (Result, error) {
	now, start, err := l.window(limit, window)
	if err != nil {
		return Result{}, err
	}
	var hits int
	err = l.DB.QueryRowContext(ctx,
		`SELECT hits FROM rate_limits WHERE bucket = ? AND window_start = ?`, bucket, start).Scan(&hits)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Result{}, fmt.Errorf("ratelimit: peek %s: %w", bucket, err)
	}
	return result(hits, hits < limit, limit, start.Add(window).Sub(now)), nil
}

// Reset forgets every window of bucket, e.g. an email's failed sign-ins
// after a successful one.
func (l *Limiter) Reset(ctx context.Context, bucket string) error {
	if _, err := l.DB.ExecContext(ctx, `DELETE FROM rate_limits WHERE bucket = ?`, bucket); err != nil {
		return fmt.Errorf("ratelimit: reset %s: %w", bucket, err)
	}
	return nil
}

// Prune deletes windows that started before before and returns how many.
// The caller passes now minus the longest window it uses.
func (l *Limiter) Prune(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.DB.ExecContext(ctx, `DELETE FROM rate_limits WHERE window_start < ?`, before.UTC())
	if err != nil {
		return 0, fmt.Errorf("ratelimit: prune: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: prune: %w", err)
	}
	return n, nil
}

func (l *Limiter) window(limit int, window time.Duration) (now, start time.Time, err error) {
	if limit < 1 || window <= 0 {
		return now, start, fmt.Errorf("ratelimit: limit %d and window %s must be positive", limit, window)
	}
	now = time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	// Truncate works on absolute time, so windows are aligned to UTC
	// boundaries whatever the node's time zone.
	now = now.UTC()
	return now, now.Truncate(window), nil
}

func result(hits int, allowed bool, limit int, untilEnd time.Duration) Result {
	r := Result{Allowed: allowed, Remaining: max(0, limit-hits), Limit: limit}
	if !allowed {
		r.RetryAfter = untilEnd
	}
	return r
}
