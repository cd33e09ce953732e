package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/delayed"
)

// keyUsageEvery: last_used_at is written at most once a minute per key
// (docs/api/authentication.md#api-keys), never as a synchronous write per request.
const keyUsageEvery = time.Minute

// KeyUsage records when keys were last used, in batches off the request
// path.
type KeyUsage struct {
	db     bun.IDB
	logger *slog.Logger

	mu sync.RWMutex
	// written is the last_used_at this node knows is stored per key;
	// pending the uses waiting for the next write.
	written map[int64]time.Time
	pending map[int64]time.Time
	flush   *delayed.Run
}

// NewKeyUsage returns a recorder writing to idb.
func NewKeyUsage(idb bun.IDB, logger *slog.Logger) *KeyUsage {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	u := &KeyUsage{db: idb, logger: logger, written: map[int64]time.Time{}, pending: map[int64]time.Time{}}
	u.flush = delayed.New(flushDelay, func(ctx context.Context) {
		if err := u.Flush(ctx); err != nil {
			u.logger.Warn("api keys: write last use", "error", err)
		}
	})
	return u
}

// Used notes that k authenticated a request at now. It never waits for
// the database.
func (u *KeyUsage) Used(k *apikeys.Key, now time.Time) {
	// Nearly every request finds its key written within the minute: a
	// read lock, so requests on both cores do not queue for it.
	u.mu.RLock()
	last, ok := u.written[k.ID]
	u.mu.RUnlock()
	if ok && now.Sub(last) < keyUsageEvery {
		return
	}
	u.mu.Lock()
	last, ok = u.written[k.ID]
	if !ok && k.LastUsedAt != nil {
		last = *k.LastUsedAt
	}
	if now.Sub(last) < keyUsageEvery {
		// The stored time, known now: later requests take the read lock.
		u.written[k.ID] = last
		u.mu.Unlock()
		return
	}
	if _, waiting := u.pending[k.ID]; !waiting {
		u.pending[k.ID] = now
	}
	// Marked written now, so the minute counts from this use and the
	// requests until the flush do not queue it again.
	u.written[k.ID] = now
	u.mu.Unlock()
	u.flush.Schedule()
}

// Flush writes the pending uses now.
func (u *KeyUsage) Flush(ctx context.Context) error {
	u.mu.Lock()
	batch := u.pending
	u.pending = map[int64]time.Time{}
	u.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(batch))
	ats := make([]time.Time, 0, len(batch))
	for id, at := range batch {
		ids = append(ids, id)
		ats = append(ats, at)
	}
	// The api_keys table is app/apikeys'; this is its only column written
	// from the request path, and no cache reads it. The rows are locked
	// in id order first: the UPDATE's join would lock them in its plan's
	// order (the map's under a nested loop), and two nodes' flushes of
	// the same keys could deadlock (docs/architecture.md#lock-order).
	ctx = db.Bookkeeping(ctx)
	_, err := u.db.NewRaw(`WITH v AS (
			SELECT * FROM unnest(?::bigint[], ?::timestamptz[]) AS v (id, at)
		), locked AS MATERIALIZED (
			SELECT k.id FROM api_keys AS k JOIN v ON v.id = k.id
			WHERE k.last_used_at IS NULL OR k.last_used_at < v.at
			ORDER BY k.id FOR NO KEY UPDATE OF k
		)
		UPDATE api_keys AS k SET last_used_at = v.at
		FROM v JOIN locked ON locked.id = v.id
		WHERE k.id = v.id AND (k.last_used_at IS NULL OR k.last_used_at < v.at)`,
		pgdialect.Array(ids), pgdialect.Array(ats)).Exec(ctx)
	if err != nil {
		// Put back for the next flush, unless a later use is waiting.
		u.mu.Lock()
		for id, at := range batch {
			if cur, ok := u.pending[id]; !ok || cur.Before(at) {
				u.pending[id] = at
			}
		}
		u.mu.Unlock()
		return fmt.Errorf("write last use of %d keys: %w", len(batch), err)
	}
	return nil
}

// Close writes what is pending; call it when the node stops.
func (u *KeyUsage) Close(ctx context.Context) error {
	u.flush.Stop()
	return u.Flush(ctx)
}
