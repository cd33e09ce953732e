package pipeline

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/delayed"
)

// CallCounter counts authenticated API calls per UTC day and scope for the
// dashboard. A call only bumps a number in memory; the counts are added to
// api_call_counts in one statement within a second (flushDelay), so
// counting costs the request path no database work.
type CallCounter struct {
	db     bun.IDB
	logger *slog.Logger

	// mu guards the map; a call adds to its counter under the read lock,
	// so calls on both cores do not wait for each other, and Flush takes
	// the map under the write lock once no call is adding to it.
	mu      sync.RWMutex
	pending map[dayScope]*atomic.Int64
	// day is the UTC day of the last call, formatted once per day.
	day   atomic.Pointer[callDay]
	flush *delayed.Run
}

type dayScope struct {
	day   string // YYYY-MM-DD, UTC
	scope string
}

type callDay struct {
	unixDay int64
	text    string
}

// NewCallCounter returns a counter writing to idb.
func NewCallCounter(idb bun.IDB, logger *slog.Logger) *CallCounter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	cc := &CallCounter{db: idb, logger: logger, pending: map[dayScope]*atomic.Int64{}}
	cc.flush = delayed.New(flushDelay, func(ctx context.Context) {
		if err := cc.Flush(ctx); err != nil {
			cc.logger.Warn("api calls: write counts", "error", err)
		}
	})
	return cc
}

// dayOf is now's UTC day as YYYY-MM-DD.
func (cc *CallCounter) dayOf(now time.Time) string {
	unixDay := now.Unix() / 86400
	if now.Unix() < 0 && now.Unix()%86400 != 0 {
		unixDay-- // before 1970: days round down
	}
	if d := cc.day.Load(); d != nil && d.unixDay == unixDay {
		return d.text
	}
	d := &callDay{unixDay: unixDay, text: now.UTC().Format(time.DateOnly)}
	cc.day.Store(d)
	return d.text
}

// Count notes one call of an endpoint needing scope at now.
func (cc *CallCounter) Count(scope string, now time.Time) {
	k := dayScope{day: cc.dayOf(now), scope: scope}
	cc.mu.RLock()
	n := cc.pending[k]
	if n != nil {
		n.Add(1)
	}
	cc.mu.RUnlock()
	if n == nil {
		cc.add(k, 1)
	}
	cc.flush.Schedule()
}

// add adds n calls to k's counter, making it.
func (cc *CallCounter) add(k dayScope, n int64) {
	cc.mu.Lock()
	c := cc.pending[k]
	if c == nil {
		c = new(atomic.Int64)
		cc.pending[k] = c
	}
	c.Add(n)
	cc.mu.Unlock()
}

// Flush adds the pending counts now. Counts that could not be written are
// kept for the next flush.
func (cc *CallCounter) Flush(ctx context.Context) error {
	cc.mu.Lock()
	batch := cc.pending
	cc.pending = map[dayScope]*atomic.Int64{}
	cc.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	ctx = db.Bookkeeping(ctx)
	days, scopes, calls := make([]string, 0, len(batch)), make([]string, 0, len(batch)), make([]int64, 0, len(batch))
	// The upsert locks rows in the arrays' order: in key order, not the
	// map's, so two nodes' flushes of the same counters never wait on each
	// other in opposite orders (docs/architecture.md#lock-order).
	keys := slices.SortedFunc(maps.Keys(batch), func(a, b dayScope) int {
		return cmp.Or(strings.Compare(a.day, b.day), strings.Compare(a.scope, b.scope))
	})
	for _, k := range keys {
		days, scopes, calls = append(days, k.day), append(scopes, k.scope), append(calls, batch[k].Load())
	}
	_, err := cc.db.NewRaw(`INSERT INTO api_call_counts (day, scope, calls)
		SELECT * FROM unnest(?::date[], ?::text[], ?::bigint[])
		ON CONFLICT (day, scope) DO UPDATE SET calls = api_call_counts.calls + excluded.calls`,
		pgdialect.Array(days), pgdialect.Array(scopes), pgdialect.Array(calls)).Exec(ctx)
	if err != nil {
		for k, n := range batch {
			cc.add(k, n.Load())
		}
		return fmt.Errorf("add %d api call counts: %w", len(batch), err)
	}
	return nil
}

// Close writes what is pending; call it when the node stops.
func (cc *CallCounter) Close(ctx context.Context) error {
	cc.flush.Stop()
	return cc.Flush(ctx)
}
