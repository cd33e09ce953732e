package licensing

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"

	"github.com/licensor/licensor/app/db"
)

// VerifyRecorder takes verification's writes off the request path
// (docs/api/external.md#verify "Side effects: none synchronous"): it remembers the latest
// verification of each activation and writes them in batches, one UPDATE …
// FROM unnest per flush, every Interval or as soon as MaxBatch activations
// wait. A crash loses at most one interval of last_verified_at values,
// which only inform the console.
type VerifyRecorder struct {
	db       bun.IDB
	interval time.Duration
	maxBatch int
	logger   *slog.Logger

	mu      sync.Mutex
	pending map[int64]verification
	kick    chan struct{}
	cancel  context.CancelFunc
	done    chan struct{}
}

// verification is an activation's latest sign of life waiting to be
// written: a verify (verified, with its IP) or only a heartbeat.
type verification struct {
	at       time.Time
	ip       string
	verified bool
	// verifiedAt is the latest verify's time when a later heartbeat
	// replaced it in the map.
	verifiedAt time.Time
}

// RecorderOptions configure a VerifyRecorder; zero values mean one second,
// 1000 activations and no logging.
type RecorderOptions struct {
	Interval time.Duration
	MaxBatch int
	Logger   *slog.Logger
}

// customerVerifiedEvery limits the customer activity license_verified to
// one entry per activation per hour: installations verify on every page
// view, and the customer's activity list is for people to read.
const customerVerifiedEvery = time.Hour

// NewVerifyRecorder returns a recorder writing to idb. Call Start to flush
// in the background, Close to stop and write what is left.
func NewVerifyRecorder(idb bun.IDB, o RecorderOptions) *VerifyRecorder {
	r := &VerifyRecorder{db: idb, interval: o.Interval, maxBatch: o.MaxBatch, logger: o.Logger,
		pending: map[int64]verification{}, kick: make(chan struct{}, 1)}
	if r.interval <= 0 {
		r.interval = time.Second
	}
	if r.maxBatch <= 0 {
		r.maxBatch = 1000
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Record notes that activation id was verified at at from ip. It never
// blocks on the database. A nil recorder records nothing.
func (r *VerifyRecorder) Record(id int64, at time.Time, ip string) {
	if r == nil {
		return
	}
	r.note(id, verification{at: at, ip: ip, verified: true, verifiedAt: at})
}

// Heartbeat notes a heartbeat of activation id at at
// (docs/licensing.md#heartbeats-and-automatic-release): written with the
// verifications, as last_heartbeat_at and the next deadline, never on the
// request path. A nil recorder records nothing.
func (r *VerifyRecorder) Heartbeat(id int64, at time.Time) {
	if r == nil {
		return
	}
	r.note(id, verification{at: at})
}

// note merges v into the pending entry of id: the latest sign of life
// wins, and a verify's time and IP are kept for last_verified_at.
func (r *VerifyRecorder) note(id int64, v verification) {
	r.mu.Lock()
	if prev, ok := r.pending[id]; ok {
		v = merge(prev, v)
	}
	r.pending[id] = v
	full := len(r.pending) >= r.maxBatch
	r.mu.Unlock()
	if full {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// merge is the pending entry after a and b.
func merge(a, b verification) verification {
	out := a
	if b.at.After(a.at) {
		out.at = b.at
	}
	if b.verified && (!a.verified || !b.verifiedAt.Before(a.verifiedAt)) {
		out.verified, out.verifiedAt, out.ip = true, b.verifiedAt, b.ip
	}
	return out
}

// Start flushes every interval (or when a batch is full) until Close.
func (r *VerifyRecorder) Start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-r.kick:
			}
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.logger.Error("flush verifications", "error", err)
			}
		}
	}()
}

// Close stops the background flushing and writes what is pending.
func (r *VerifyRecorder) Close(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
		<-r.done
	}
	return r.Flush(ctx)
}

// Flush writes the pending verifications now: last_verified_at of each
// activation (never moved backwards), and a license_verified customer
// activity for activations of linked licenses not verified in the last
// hour. On error the batch is put back for the next flush.
func (r *VerifyRecorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = make(map[int64]verification, len(batch))
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	// last_verified_at is for the console: no cache reads it.
	ctx = db.Bookkeeping(ctx)
	ids := make([]int64, 0, len(batch))
	ats := make([]time.Time, 0, len(batch))
	verified := make([]*time.Time, 0, len(batch))
	ips := make([]string, 0, len(batch))
	for id, v := range batch {
		ids = append(ids, id)
		ats = append(ats, v.at)
		ips = append(ips, v.ip)
		if v.verified {
			verified = append(verified, &v.verifiedAt)
		} else {
			verified = append(verified, nil)
		}
	}
	// A sign of life moves last_heartbeat_at and, under a heartbeat
	// policy, the deadline of an active activation (migration 0083's
	// licensor_heartbeat_due); a verify also last_verified_at. Rows
	// without a policy keep heartbeat_due_at NULL, so these stay HOT
	// updates (migration 0024). An offline activation never gets a
	// deadline (docs/licensing.md#offline-activations-and-heartbeats).
	//
	// The rows are locked in id order first (locked): the UPDATE's join
	// would lock them in whatever order its plan meets them, the order of
	// the arrays (a Go map's, random) under a nested loop, so two nodes'
	// flushes of the same activations, or a flush and any writer locking
	// several activations in id order, could each hold a row the other
	// waits for and PostgreSQL would fail one with a deadlock
	// (docs/architecture.md#lock-order). The filter is the UPDATE's, so a
	// row with nothing to write is not locked (a lock writes the row too).
	_, err := r.db.NewRaw(`WITH v AS (
			SELECT * FROM unnest(?::bigint[], ?::timestamptz[], ?::timestamptz[], ?::text[]) AS v (id, at, verified_at, ip)
		), locked AS MATERIALIZED (
			SELECT a.id FROM activations AS a JOIN v ON v.id = a.id
			WHERE a.last_heartbeat_at IS NULL OR a.last_heartbeat_at < v.at
				OR (v.verified_at IS NOT NULL AND (a.last_verified_at IS NULL OR a.last_verified_at < v.verified_at))
			ORDER BY a.id FOR NO KEY UPDATE OF a
		), updated AS (
			UPDATE activations AS a SET
				last_verified_at = CASE WHEN v.verified_at IS NOT NULL AND (a.last_verified_at IS NULL OR a.last_verified_at < v.verified_at)
					THEN v.verified_at ELSE a.last_verified_at END,
				last_heartbeat_at = greatest(a.last_heartbeat_at, v.at),
				heartbeat_due_at = CASE WHEN a.is_active AND oa.activation_id IS NULL THEN licensor_heartbeat_due(greatest(a.last_heartbeat_at, v.at), a.activated_at,
					l.heartbeat_interval, l.floating, p.heartbeat_interval, p.heartbeat_tolerance) END,
				heartbeat_missed_at = CASE WHEN a.is_active THEN NULL ELSE a.heartbeat_missed_at END
			FROM v JOIN locked ON locked.id = v.id
				JOIN activations AS prev ON prev.id = v.id
				JOIN licenses AS l ON l.id = prev.license_id
				JOIN products AS p ON p.id = l.product_id
				LEFT JOIN offline_activations AS oa ON oa.activation_id = prev.id
			WHERE a.id = v.id AND (a.last_heartbeat_at IS NULL OR a.last_heartbeat_at < v.at
				OR (v.verified_at IS NOT NULL AND (a.last_verified_at IS NULL OR a.last_verified_at < v.verified_at)))
			RETURNING a.id, a.license_id, v.verified_at AS at, NULLIF(v.ip, '') AS ip, prev.last_verified_at AS previous
		)
		INSERT INTO customer_activity (customer_id, type, ip, data, created_at)
		SELECT c.id, ?, u.ip, jsonb_build_object('license_code', l.license_code, 'activation_id', u.id), u.at
		FROM updated AS u
		JOIN licenses AS l ON l.id = u.license_id
		JOIN customers AS c ON `+customers.LinkCondition("l", "c")+`
		WHERE u.at IS NOT NULL AND (u.previous IS NULL OR u.previous < u.at - ?::interval)`,
		pgdialect.Array(ids), pgdialect.Array(ats), pgdialect.Array(verified), pgdialect.Array(ips),
		audit.CustomerLicenseVerified, fmt.Sprintf("%d seconds", int(customerVerifiedEvery.Seconds())),
	).Exec(ctx)
	if err != nil {
		r.mu.Lock()
		for id, v := range batch {
			if cur, ok := r.pending[id]; ok {
				v = merge(v, cur)
			}
			r.pending[id] = v
		}
		r.mu.Unlock()
		return fmt.Errorf("write %d verifications: %w", len(batch), err)
	}
	return nil
}
