package pipeline

import (
	"context"
	"strconv"
	"strings"
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

// KeyCache serves API key records by the presented key, so a request
// costs no query for its key, and no hash either: the database stores and
// is searched by the key's SHA-256 (apikeys.Lookup), but a key this node
// has found is remembered by the string the client presents, which Go's
// map hashes with a per-process random seed in a fraction of a SHA-256's
// time. The cache holds only keys that exist, as the requests presenting
// them do. Unknown keys are not cached: a guessed key costs one indexed
// query, and the caller's IP bucket is charged for it
// (docs/api/authentication.md#rate-limiting).
type KeyCache struct {
	db bun.IDB

	mu      sync.RWMutex
	entries map[string]keyEntry
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
	c := &KeyCache{db: idb, entries: map[string]keyEntry{}}
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
// hash, at now (the request's time: an entry older than KeyTTL is read
// again). The record is shared: do not modify it.
func (c *KeyCache) Lookup(ctx context.Context, plain string, now time.Time) (*apikeys.Key, error) {
	c.mu.RLock()
	e, ok := c.entries[plain]
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
		// plain may point into the request's buffer, which fasthttp
		// reuses: the map keeps a copy.
		c.entries[strings.Clone(plain)] = keyEntry{key: k, loadedAt: now}
	}
	c.mu.Unlock()
	return k, nil
}

// Drop forgets key id, so the next request presenting it reads it again.
func (c *KeyCache) Drop(id int64) {
	c.mu.Lock()
	for plain, e := range c.entries {
		if e.key.ID == id {
			delete(c.entries, plain)
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
