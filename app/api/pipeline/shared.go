package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/app/ratelimit"
)

// Shared is a node's pipeline state, common to the external and internal
// groups: the API key cache, the rate limiter, the key-usage recorder and
// the API call counter. The last three write in batches from goroutines of their own that run only
// while there is something to write; Close writes what is left.
type Shared struct {
	Keys    *KeyCache
	Limiter *ratelimit.BatchLimiter
	Usage   *KeyUsage
	Calls   *CallCounter
	// hosts remembers normalised caller URLs.
	hosts hostCache
}

// NewShared builds the node's pipeline state on idb. With a listener
// (subscribed here, so call before listener.Start) key changes notified on
// KeysChannel reach the key cache at once.
func NewShared(idb bun.IDB, listener *pgnotify.Listener, logger *slog.Logger) (*Shared, error) {
	keys, err := NewKeyCache(idb, listener)
	if err != nil {
		return nil, err
	}
	return &Shared{Keys: keys, Limiter: ratelimit.NewBatchLimiter(idb, logger), Usage: NewKeyUsage(idb, logger), Calls: NewCallCounter(idb, logger)}, nil
}

// Close writes the pending rate-limit counts, key uses and call counts.
// Call it after the HTTP server has stopped.
func (s *Shared) Close(ctx context.Context) error {
	return errors.Join(s.Limiter.Close(ctx), s.Usage.Close(ctx), s.Calls.Close(ctx))
}

// flushDelay is how long a node keeps key uses and call counts before
// writing them.
const flushDelay = time.Second
