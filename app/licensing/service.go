package licensing

import (
	"crypto/rand"
	"io"
	"time"
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
}

// NewService returns a Service.
func NewService(o Options) *Service {
	s := &Service{now: o.Now, rand: o.Rand, hooks: o.Hooks, recorder: o.Recorder, activations: o.Activations}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	return s
}
