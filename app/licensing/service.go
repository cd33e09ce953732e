package licensing

import (
	"crypto/rand"
	"io"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
)

// Service changes licenses and activations. Reads that need nothing but a
// database are package functions.
type Service struct {
	now      func() time.Time
	rand     io.Reader
	hooks    Hooks
	recorder *VerifyRecorder
	// activations is the node's cache of what verify reads; nil reads the
	// database every time.
	activations *ActivationCache
	// offlineSecret derives offline activations' release keys.
	offlineSecret []byte
	// products is the node's product cache, which activate reads its
	// product from; nil reads the database.
	products *catalog.Cache
	// unprepared sends the hot paths' statements unprepared (runner).
	unprepared bool
	// replica is Options.VerifyReplica.
	replica func() bun.IDB
	// stateBatchers batch the reads of activation states, one per pool
	// (*sql.DB → *db.Batcher, statebatch.go).
	stateBatchers sync.Map
	// codeBatchers batch verify by code's reads the same way
	// (codebatch.go).
	codeBatchers sync.Map
}

// Options configure a Service. Zero values mean time.Now and crypto/rand.
type Options struct {
	Now   func() time.Time
	Rand  io.Reader // source of generated license codes
	Hooks Hooks
	// Recorder receives successful verifications; nil records none.
	Recorder *VerifyRecorder
	// Activations caches verify's reads (nil: none).
	Activations *ActivationCache
	// OfflineSecret is the instance secret, from which offline
	// activations' release keys derive (nil: no offline activation).
	OfflineSecret []byte
	// Products is the node's product cache (nil: activate reads the
	// database).
	Products *catalog.Cache
	// Unprepared sends the hot paths' statements without preparing them:
	// config database.prepared_statements false, behind a pooler that
	// does not keep prepared statements (docs/deploy.md#connection-poolers).
	Unprepared bool
	// VerifyReplica returns the read replicas' pool when the uncached
	// verify may read it now — every write of this node replayed there —,
	// else nil (docs/deploy.md#read-replicas); nil: verify reads the
	// primary.
	VerifyReplica func() bun.IDB
}

// NewService returns a Service.
func NewService(o Options) *Service {
	s := &Service{now: o.Now, rand: o.Rand, hooks: o.Hooks, recorder: o.Recorder, activations: o.Activations, offlineSecret: o.OfflineSecret, products: o.Products, unprepared: o.Unprepared, replica: o.VerifyReplica}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s
}
