package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// CallCounter counts authenticated API calls per UTC day and scope for the
// dashboard. A call only bumps a number in memory; the counts are added to
// api_call_counts in one statement within a second (flushDelay), so
// counting costs the request path no database work.
type CallCounter struct {
	db     bun.IDB
	logger *slog.Logger

	mu      sync.Mutex
	pending map[dayScope]int64
	flush   *delayed
}

type dayScope struct {
	day   string // YYYY-MM-DD, UTC
	scope string
}

// NewCallCounter returns a counter writing to idb.
func NewCallCounter(idb bun.IDB, logger *slog.Logger) *CallCounter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc := &CallCounter{db: idb, logger: logger, pending: map[dayScope]int64{}}
	cc.flush = newDelayed(flushDelay, func(ctx context.Context) {
		if err := cc.Flush(ctx); err != nil {
			cc.logger.Warn("api calls: write counts", "error", err)
		}
	})
	return cc
}

// Count notes one call of an endpoint needing scope at now.
func (cc *CallCounter) Count(scope string, now time.Time) {
	k := dayScope{day: now.UTC().Format(time.DateOnly), scope: scope}
	cc.mu.Lock()
	cc.pending[k]++
	cc.mu.Unlock()
	cc.flush.schedule()
}

// Flush adds the pending counts now. Counts that could not be written are
// kept for the next flush.
func (cc *CallCounter) Flush(ctx context.Context) error {
	cc.mu.Lock()
	batch := cc.pending
	cc.pending = map[dayScope]int64{}
	cc.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	days, scopes, calls := make([]string, 0, len(batch)), make([]string, 0, len(batch)), make([]int64, 0, len(batch))
	for k, n := range batch {
		days, scopes, calls = append(days, k.day), append(scopes, k.scope), append(calls, n)
	}
	_, err := cc.db.NewRaw(`INSERT INTO api_call_counts (day, scope, calls)
		SELECT * FROM unnest(?::date[], ?::text[], ?::bigint[])
		ON CONFLICT (day, scope) DO UPDATE SET calls = api_call_counts.calls + excluded.calls`,
		pgdialect.Array(days), pgdialect.Array(scopes), pgdialect.Array(calls)).Exec(ctx)
	if err != nil {
		cc.mu.Lock()
		for k, n := range batch {
			cc.pending[k] += n
		}
		cc.mu.Unlock()
		return fmt.Errorf("add %d api call counts: %w", len(batch), err)
	}
	return nil
}

// Close writes what is pending; call it when the node stops.
func (cc *CallCounter) Close(ctx context.Context) error {
	cc.flush.stop()
	return cc.Flush(ctx)
}
