package catalog

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/pgnotify"
)

// staleAfter bounds how long a cached product is trusted while no
// notification can arrive (listener down or absent).
const staleAfter = time.Second

// Cache serves products by reference id from memory for the external API
// (verify runs on every page view of a customer's installation). Every
// product change NOTIFYs ProductsChannel in its transaction, so each node
// drops the product within milliseconds of the commit. Misses are not
// cached: an unknown id costs one indexed query.
type Cache struct {
	db       bun.IDB
	listener *pgnotify.Listener
	now      func() time.Time

	mu      sync.RWMutex
	entries map[string]cacheEntry
	// gen counts invalidations, so a load that raced with a change is not
	// cached (it may hold the product from before the change).
	gen uint64
}

type cacheEntry struct {
	product  *Product
	loadedAt time.Time
}

// NewCache returns a cache reading from idb. With a listener (subscribed
// here, so call before listener.Start) entries live until a change is
// notified; without one, or while it is disconnected, a second at most.
func NewCache(idb bun.IDB, listener *pgnotify.Listener) (*Cache, error) {
	c := &Cache{db: idb, listener: listener, now: time.Now, entries: map[string]cacheEntry{}}
	if listener != nil {
		err := listener.Subscribe(ProductsChannel, pgnotify.Subscriber{Notify: c.drop, Reset: c.clear})
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

// ByRef returns the product with reference id ref (ignoring case), active
// or not, or ErrNotFound. The product is shared: do not modify it.
func (c *Cache) ByRef(ctx context.Context, ref string) (*Product, error) {
	// Reference ids are identifiers; anything else cannot exist, and must
	// not cost a query.
	if !fields.IsIdentifier(ref) || len(ref) > referenceIDMax {
		return nil, ErrNotFound
	}
	// The lookup folds case into a buffer on the stack: a reference id
	// sent in upper case (most are) costs no allocation per request.
	var buf [referenceIDMax]byte
	folded := appendLower(buf[:0], ref)
	c.mu.RLock()
	e, ok := c.entries[string(folded)]
	gen := c.gen
	c.mu.RUnlock()
	if ok && (c.listening() || c.now().Sub(e.loadedAt) < staleAfter) {
		return e.product, nil
	}
	p, err := ByRef(ctx, c.db, ref)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		c.entries[cacheKey(ref)] = cacheEntry{product: p, loadedAt: c.now()}
	}
	c.mu.Unlock()
	return p, nil
}

// ActiveByRef is ByRef for the endpoints an inactive product answers "not
// found" to (activate, verify, license check, updates).
func (c *Cache) ActiveByRef(ctx context.Context, ref string) (*Product, error) {
	p, err := c.ByRef(ctx, ref)
	if err == nil && !p.IsActive {
		return nil, ErrNotFound
	}
	return p, err
}

func (c *Cache) drop(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.gen++
	c.mu.Unlock()
}

func (c *Cache) clear() {
	c.mu.Lock()
	clear(c.entries)
	c.gen++
	c.mu.Unlock()
}

func (c *Cache) listening() bool { return c.listener != nil && c.listener.Listening() }

// cacheKey folds case the way citext compares reference ids (they are
// ASCII identifiers).
func cacheKey(ref string) string { return strings.ToLower(ref) }

// appendLower appends ref folded as cacheKey folds it (ASCII: ByRef has
// checked it is an identifier).
func appendLower(dst []byte, ref string) []byte {
	for i := 0; i < len(ref); i++ {
		ch := ref[i]
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		dst = append(dst, ch)
	}
	return dst
}
