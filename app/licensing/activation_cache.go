package licensing

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/licensor/licensor/app/pgnotify"
)

// VerifyChannel is NOTIFYed by triggers (migration 0023) whenever a field
// verify reads changes on an activation ('a<id>') or license ('l<id>'),
// whoever changes it.
const VerifyChannel = "licensor_verify"

// ActivationCache keeps, per node, the activation states verify reads
// (activation and license validity, host, IP, client, expiry), so a client
// verifying again costs no query. Triggers notify every node of each
// change to those fields, so an entry is dropped within milliseconds of the
// commit that changed it, on any node, as the product and settings caches
// are. The cache is trusted only while the node's listener is connected
// and has caught up with this node's own writes (pgnotify's write fence):
// once a change made through this node has returned, its verifies read the
// database until the change's notification has been dispatched, so the
// node that made a change never answers from before it (docs/deploy.md,
// "Caches and read-your-writes"). Expiry is compared with the clock at each
// verify, so it needs no notification.
type ActivationCache struct {
	listener *pgnotify.Listener
	max      int

	mu        sync.RWMutex
	entries   map[int64]*activationState
	byLicense map[int64][]int64
	// gen counts invalidations, so a load that raced with a change is not
	// cached (it may hold the state from before the change).
	gen uint64

	// What /metrics reports (Counts): lookups answered and not, and
	// invalidations (a change's notification, a drop, a reset).
	hits, misses, invalidations atomic.Uint64
}

// Counts returns the cache's lookups answered from memory (hits) and not
// (misses), and its invalidations, since the node started.
func (c *ActivationCache) Counts() (hits, misses, invalidations uint64) {
	if c == nil {
		return 0, 0, 0
	}
	return c.hits.Load(), c.misses.Load(), c.invalidations.Load()
}

// NewActivationCache returns a cache of at most size activations dropped
// on listener's notifications, or nil (no cache) when size < 1. Call it
// before listener.Start.
func NewActivationCache(listener *pgnotify.Listener, size int) (*ActivationCache, error) {
	if size < 1 {
		return nil, nil
	}
	c := &ActivationCache{listener: listener, max: size, entries: map[int64]*activationState{}, byLicense: map[int64][]int64{}}
	if err := listener.Subscribe(VerifyChannel, pgnotify.Subscriber{Notify: c.notified, Reset: c.Invalidate}); err != nil {
		return nil, err
	}
	return c, nil
}

// get returns the cached state of activation id, and the generation to
// pass to put after a miss.
func (c *ActivationCache) get(id int64) (*activationState, uint64, bool) {
	if c == nil {
		return nil, 0, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	st, ok := c.entries[id]
	ok = ok && c.listener.CaughtUp()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return st, c.gen, ok
}

// put caches st, loaded when the generation was gen.
func (c *ActivationCache) put(gen uint64, st *activationState) {
	if c == nil || st == nil || !c.listener.Listening() {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	if len(c.entries) >= c.max {
		// Go's map iteration starts at a random entry: a random eviction,
		// which is enough for a cache whose hits come from installations
		// that verify often.
		for id, old := range c.entries {
			c.remove(id, old)
			break
		}
	}
	if _, ok := c.entries[st.ID]; !ok {
		c.byLicense[st.LicenseID] = append(c.byLicense[st.LicenseID], st.ID)
	}
	c.entries[st.ID] = st
}

// Drop forgets activation ids.
func (c *ActivationCache) Drop(ids ...int64) {
	if c == nil {
		return
	}
	c.invalidations.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, id := range ids {
		if st, ok := c.entries[id]; ok {
			c.remove(id, st)
		}
	}
}

// Invalidate forgets everything (also when notifications may have been
// missed).
func (c *ActivationCache) Invalidate() {
	if c == nil {
		return
	}
	c.invalidations.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.entries)
	clear(c.byLicense)
}

// Holds reports whether activation id is cached.
func (c *ActivationCache) Holds(id int64) bool {
	if c == nil {
		return false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, ok := c.entries[id]
	return ok
}

// Len is the number of cached activations.
func (c *ActivationCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

func (c *ActivationCache) notified(payload string) {
	if len(payload) < 2 {
		c.Invalidate()
		return
	}
	id, err := strconv.ParseInt(payload[1:], 10, 64)
	if err != nil {
		c.Invalidate()
		return
	}
	switch payload[0] {
	case 'a':
		c.Drop(id)
	case 'l':
		c.invalidations.Add(1)
		c.mu.Lock()
		c.gen++
		for _, aid := range c.byLicense[id] {
			if st, ok := c.entries[aid]; ok {
				c.remove(aid, st)
			}
		}
		delete(c.byLicense, id)
		c.mu.Unlock()
	default:
		c.Invalidate()
	}
}

// remove deletes one entry and its place in byLicense; c.mu is held.
func (c *ActivationCache) remove(id int64, st *activationState) {
	delete(c.entries, id)
	ids := c.byLicense[st.LicenseID]
	for i, other := range ids {
		if other == id {
			ids[i] = ids[len(ids)-1]
			ids = ids[:len(ids)-1]
			break
		}
	}
	if len(ids) == 0 {
		delete(c.byLicense, st.LicenseID)
	} else {
		c.byLicense[st.LicenseID] = ids
	}
}
