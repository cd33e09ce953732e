package pipeline

import (
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/apikeys"
	"github.com/licensor/licensor/app/pgnotify"
)

// KeyTTL is how long a node trusts a cached key record
// (docs/api/authentication.md#request-pipeline step 4 allows up to 30 s). A
// revocation notified on KeysChannel takes effect at once; one that is not
// reaches every node within KeyTTL.
const KeyTTL = 30 * time.Second

// KeysChannel is the NOTIFY channel whose payload is the id of an API key
// that changed (revoked, deleted, re-scoped): every node drops that key
// from its cache. A trigger on api_keys (migration 0007) sends it for every
// such change, whoever makes it.
const KeysChannel = "licensor_api_keys"

// maxCachedKeys bounds the cache. Deployments have a handful of keys;
// the bound only matters if something churns through many valid ones.
const maxCachedKeys = 10_000

// KeyCache serves API key records by the presented key's hash, so a
// request costs no query for its key. Unknown keys are not cached: a
// guessed key costs one indexed query, and the caller's IP bucket is
// charged for it (docs/api/authentication.md#rate-limiting).
type KeyCache struct {
	db  bun.IDB
	now func() time.Time

	mu      sync.RWMutex
	entries map[[32]byte]keyEntry
	// gen counts invalidations, so a lookup that raced with one is not
	// cached (it may hold the key from before the change).
	gen uint64
}

type keyEntry struct {
	key      *apikeys.Key
	loadedAt time.Time
}

// NewKeyCache returns a cache reading from idb. With a listener (subscribed
// here, so call before listener.Start) a key notified on KeysChannel is
// dropped at once.
func NewKeyCache(idb bun.IDB, listener *pgnotify.Listener) (*KeyCache, error) {
	c := &KeyCache{db: idb, now: time.Now, entries: map[[32]byte]keyEntry{}}
	if listener != nil {
		err := listener.Subscribe(KeysChannel, pgnotify.Subscriber{
			Notify: func(payload string) {
				if id, err := strconv.ParseInt(payload, 10, 64); err == nil {
					c.Drop(id)
				} else {
					c.Clear()
				}
			},
			Reset: c.Clear,
		})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Lookup returns the key presented as plain, or nil when no key has that
// hash. The record is shared: do not modify it.
func (c *KeyCache) Lookup(ctx context.Context, plain string) (*apikeys.Key, error) {
	h := sha256.Sum256([]byte(plain)) // apikeys.Hash, without its slice escaping
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[h]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Sub(e.loadedAt) < KeyTTL {
		return e.key, nil
	}
	k, err := apikeys.Lookup(ctx, c.db, plain)
	if err != nil || k == nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.entries) >= maxCachedKeys {
			clear(c.entries)
		}
		c.entries[h] = keyEntry{key: k, loadedAt: now}
	}
	c.mu.Unlock()
	return k, nil
}

// Drop forgets key id, so the next request presenting it reads it again.
func (c *KeyCache) Drop(id int64) {
	c.mu.Lock()
	for h, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, h)
		}
	}
	c.gen++
	c.mu.Unlock()
}

// Clear forgets every key.
func (c *KeyCache) Clear() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}
