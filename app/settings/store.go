// Package settings owns the run-time settings of docs/configuration.md#run-time-settings: their
// types, defaults and rules, a typed snapshot (Values), and a per-node cache
// that every node drops within a second of a change anywhere (the settings
// table's trigger NOTIFYs Channel; pgnotify delivers it).
package settings

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/pgnotify"
)

// Channel is the NOTIFY channel of the settings table's trigger
// (migrations/0003).
const Channel = "licensor_settings"

// staleAfter bounds how long a snapshot is trusted while no notification
// can arrive (listener down or not started): a change still takes effect
// within about a second, at the cost of one small query per second.
const staleAfter = time.Second

// Load reads the settings from idb, bypassing any cache: for transactions
// that must see their own writes, and for one-shot CLI commands.
func Load(ctx context.Context, idb bun.IDB) (*Values, error) {
	var rows []struct {
		Key   string          `bun:"key"`
		Value json.RawMessage `bun:"value"`
	}
	if err := idb.NewRaw("SELECT key, value FROM settings").Scan(ctx, &rows); err != nil {
		return nil, fmt.Errorf("load settings: %w", err)
	}
	stored := make(map[string]json.RawMessage, len(rows))
	for _, r := range rows {
		stored[r.Key] = r.Value
	}
	return build(Definitions(), stored), nil
}

// Defaults is the snapshot of a database with no stored setting.
func Defaults() *Values { return build(Definitions(), nil) }

// Store serves the current snapshot from memory. It is safe for concurrent
// use; Get costs an atomic load when the snapshot is cached (every API
// request reads it, some twice: a mutex there made the requests on both
// cores queue for each other).
type Store struct {
	db       bun.IDB
	listener *pgnotify.Listener
	now      func() time.Time

	// cur is the cached snapshot, nil when there is none; written under mu.
	cur atomic.Pointer[snapshot]
	mu  sync.Mutex
	// gen counts invalidations, so a load that raced with a change is not
	// cached (it may hold the values from before the change).
	gen uint64
}

// snapshot is a cached Values and when it was read.
type snapshot struct {
	values   *Values
	loadedAt time.Time
}

// NewStore returns a store reading from idb. With a listener (subscribed
// here, so call before listener.Start), the snapshot is kept until a
// change is notified; without one, or while it is disconnected, for at
// most a second.
func NewStore(idb bun.IDB, listener *pgnotify.Listener) (*Store, error) {
	s := &Store{db: idb, listener: listener, now: time.Now}
	if listener != nil {
		if err := listener.Subscribe(Channel, pgnotify.Subscriber{
			Notify: func(string) { s.Invalidate() },
			Reset:  s.Invalidate,
		}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Get returns the current snapshot. Do not modify it.
func (s *Store) Get(ctx context.Context) (*Values, error) {
	if snap := s.cur.Load(); snap != nil && (s.listening() || s.now().Sub(snap.loadedAt) < staleAfter) {
		return snap.values, nil
	}
	// gen is read before the load starts: an invalidation after this
	// point changes it, and the load is then not cached.
	s.mu.Lock()
	gen := s.gen
	s.mu.Unlock()

	v, err := Load(ctx, s.db)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.gen == gen {
		s.cur.Store(&snapshot{values: v, loadedAt: s.now()})
	}
	s.mu.Unlock()
	return v, nil
}

// Invalidate drops the cached snapshot.
func (s *Store) Invalidate() {
	s.mu.Lock()
	s.cur.Store(nil)
	s.gen++
	s.mu.Unlock()
}

func (s *Store) listening() bool { return s.listener != nil && s.listener.Listening() }
