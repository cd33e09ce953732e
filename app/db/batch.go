package db

import (
	"context"
	"database/sql"
	"sync"

	"github.com/jackc/pgx/v5"
)

// BatchRead reads keys in one statement on c: vals[i] (left zero when
// keys[i] has no row) or errs[i] (a row of its own that cannot be read) for
// each keys[i]. Its error is the whole batch's. It may run again on
// another connection (WithPgx), with vals and errs cleared.
type BatchRead[K, V any] func(ctx context.Context, c *pgx.Conn, keys []K, vals []V, errs []error) error

// Batcher coalesces one hot read (verify's activation state) on one pool:
// a read sent while no batch is on its way is sent at once, alone;
// otherwise it waits, and when a batch comes back the reads that waited
// meanwhile go together, up to maxBatch, in one statement on one
// connection. Another batch goes out beside those on their way (up to
// maxInFlight at once) only when minOverlap reads wait, whether they
// are waiting as a read comes or as a batch comes back: a second batch
// sent for every read that finds one out (the first policy, two batches
// in flight) made half the round trips carry a read or two, and PostgreSQL
// and the server paid a round trip's fixed cost for each
// (docs/benchmarks.md#batch-sizes). Under load a round trip then answers many
// reads, so the database parses, binds and wakes up once for all of them
// and the server writes and reads its socket once, where one round trip
// per read costs more than the read itself (docs/benchmarks.md). No timer
// holds a read back: at low load every read goes alone, as before, and a
// batch never waits for more reads than have come while others were out.
//
// A Batcher serves one pool (the primary's or the read replicas'): which
// one a read may use (the write fence, the replica's lag) is decided
// before it asks.
type Batcher[K, V any] struct {
	pool        *sql.DB
	read        BatchRead[K, V]
	maxInFlight int
	minOverlap  int
	maxBatch    int

	mu sync.Mutex
	// running counts the batches on their way (at most maxInFlight);
	// queue holds the reads waiting for one of them to come back.
	running int
	queue   []*batchCall[K, V]
}

// NewBatcher returns a Batcher reading through pool with read, with at most
// maxInFlight batches (hence connections) at once, a batch beside another
// only once minOverlap reads wait for it, and maxBatch reads in one.
func NewBatcher[K, V any](pool *sql.DB, maxInFlight, minOverlap, maxBatch int, read BatchRead[K, V]) *Batcher[K, V] {
	return &Batcher[K, V]{pool: pool, read: read, maxInFlight: max(1, maxInFlight), minOverlap: max(1, minOverlap), maxBatch: max(1, maxBatch)}
}

// batchCall is one read: its key, and its answer once done is closed.
type batchCall[K, V any] struct {
	ctx  context.Context
	key  K
	val  V
	err  error
	done chan struct{}
	// run is the batch it went out in, nil while it waits; left: its
	// caller gave up waiting before it went out.
	run  *batchRun
	left bool
}

// batchRun is a batch on its way. Its context ends when every caller in it
// has given up: the read is then no one's.
type batchRun struct {
	waiting int
	cancel  context.CancelFunc
}

// Read reads key: its value (zero when it has no row) or an error, its own
// or its batch's. A ctx that ends while the read waits or is out returns
// ctx's error at once; the batch goes on for the others.
func (b *Batcher[K, V]) Read(ctx context.Context, key K) (V, error) {
	b.mu.Lock()
	if b.running == 0 {
		// The queue is empty while no batch is out (one coming back
		// takes the queue with it): sent at once, alone, on the
		// caller's goroutine and context.
		b.running++
		b.mu.Unlock()
		c := &batchCall[K, V]{ctx: ctx, key: key}
		b.send(ctx, []*batchCall[K, V]{c})
		if next := b.next(); next != nil {
			go b.drain(next)
		}
		return c.val, c.err
	}
	c := &batchCall[K, V]{ctx: ctx, key: key, done: make(chan struct{})}
	b.queue = append(b.queue, c)
	// Enough reads wait to be worth a round trip of their own: they go
	// now, beside the batches out, rather than after one comes back.
	var calls []*batchCall[K, V]
	if b.running < b.maxInFlight && len(b.queue) >= b.minOverlap {
		if calls = b.take(); calls != nil {
			b.running++
		}
	}
	b.mu.Unlock()
	if calls != nil {
		go b.drain(calls)
	}
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		b.leave(c)
		var zero V
		return zero, ctx.Err()
	}
}

// Out is how many batches are on their way: for tests, as Waiting.
func (b *Batcher[K, V]) Out() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running
}

// Waiting is how many reads wait for a batch to come back: for tests
// (this package's and their users') that hold one batch and need the
// others queued behind it.
func (b *Batcher[K, V]) Waiting() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, c := range b.queue {
		if !c.left {
			n++
		}
	}
	return n
}

// send reads calls' keys in one statement and sets each call's answer.
func (b *Batcher[K, V]) send(ctx context.Context, calls []*batchCall[K, V]) {
	keys := make([]K, len(calls))
	for i, c := range calls {
		keys[i] = c.key
	}
	vals, errs := make([]V, len(calls)), make([]error, len(calls))
	err := WithPgx(ctx, b.pool, func(conn *pgx.Conn) error {
		clear(vals)
		clear(errs)
		return b.read(ctx, conn, keys, vals, errs)
	})
	for i, c := range calls {
		c.val, c.err = vals[i], errs[i]
		if err != nil {
			c.err = err
		}
	}
}

// next takes the waiting reads (up to maxBatch) as the next batch, or,
// when none waits, gives up the finished batch's place. Called when a
// batch has come back. While another batch is still out, fewer than
// minOverlap waiting reads are left to it: they go when it comes back,
// as they would have had this one not been out, rather than in a small
// batch beside it. Taking them at once sent half to three quarters of
// the batches of bench/load's cache-off verify beside another, each
// paying a round trip's fixed cost (docs/benchmarks.md#cache-off-hand-off).
func (b *Batcher[K, V]) next() []*batchCall[K, V] {
	b.mu.Lock()
	defer b.mu.Unlock()
	var calls []*batchCall[K, V]
	if b.running == 1 || len(b.queue) >= b.minOverlap {
		calls = b.take()
	}
	if calls == nil {
		b.running--
	}
	return calls
}

// take takes the waiting reads (up to maxBatch) as a batch, nil when none
// waits; b.mu is held.
func (b *Batcher[K, V]) take() []*batchCall[K, V] {
	var calls []*batchCall[K, V]
	taken := 0
	for _, c := range b.queue {
		if len(calls) == b.maxBatch {
			break
		}
		taken++
		if !c.left {
			calls = append(calls, c)
		}
	}
	clear(b.queue[:taken])
	b.queue = b.queue[taken:]
	if len(calls) == 0 {
		return nil
	}
	// Not the first caller's context: its end must not end the others'
	// read. Its values (a trace, say) are as good as any.
	ctx, cancel := context.WithCancel(context.WithoutCancel(calls[0].ctx))
	run := &batchRun{waiting: len(calls), cancel: cancel}
	for _, c := range calls {
		c.run, c.ctx = run, ctx
	}
	return calls
}

// drain sends batches of waiting reads, one after the other on this
// goroutine, until none waits.
func (b *Batcher[K, V]) drain(calls []*batchCall[K, V]) {
	for calls != nil {
		run := calls[0].run
		b.send(calls[0].ctx, calls)
		run.cancel()
		for _, c := range calls {
			close(c.done)
		}
		calls = b.next()
	}
}

// leave records that c's caller stopped waiting: it is not sent when it
// has not gone out yet, and a batch whose callers have all left is
// cancelled.
func (b *Batcher[K, V]) leave(c *batchCall[K, V]) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.run == nil {
		c.left = true
		return
	}
	if c.run.waiting--; c.run.waiting == 0 {
		c.run.cancel()
	}
}
