package pipeline

import (
	"strings"
	"sync"

	"github.com/licensor/licensor/app/licensing"
)

// maxCachedHosts bounds the caller-URL cache; past it the cache starts
// over (installations each send the same URL on every call, so a node sees
// far fewer distinct ones than requests).
const maxCachedHosts = 50_000

// hostCache remembers what X-API-URL values normalise to (host and stored
// URL, or invalid): parsing, IDNA mapping and validation cost a verify more
// than its cached lookup, and an installation sends the same URL each time.
// The zero value is ready to use.
type hostCache struct {
	mu      sync.RWMutex
	entries map[hostKey]hostEntry
}

type hostKey struct {
	raw      string
	variants bool
}

type hostEntry struct {
	host, url string
	invalid   bool
}

// normalize is licensing.NormalizeHost and licensing.ActivationURL of raw,
// remembered.
func (c *hostCache) normalize(raw string, variants bool) (host, url string, ok bool) {
	k := hostKey{raw, variants}
	c.mu.RLock()
	e, hit := c.entries[k]
	c.mu.RUnlock()
	if !hit {
		// raw may point into the request's buffer, which fasthttp reuses,
		// and host and url may be parts of it: work on a copy.
		raw = strings.Clone(raw)
		h, err := licensing.NormalizeHost(raw, variants)
		e = hostEntry{host: h, invalid: err != nil}
		if err == nil {
			e.url = licensing.ActivationURL(raw)
		}
		c.mu.Lock()
		if c.entries == nil || len(c.entries) >= maxCachedHosts {
			c.entries = make(map[hostKey]hostEntry)
		}
		c.entries[hostKey{raw, variants}] = e
		c.mu.Unlock()
	}
	return e.host, e.url, !e.invalid
}
