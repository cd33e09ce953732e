// Package pgnotify keeps one dedicated PostgreSQL connection LISTENing on
// the channels of every in-memory cache of a node (settings, products, …)
// and calls the caches back, so a change committed on one node reaches the
// others within milliseconds. Every cache uses this one listener: one
// connection per node however many caches there are.
package pgnotify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pingEvery bounds how long a silently dead connection (a dropped TCP
// session sends nothing) goes unnoticed.
const pingEvery = 15 * time.Second

// Subscriber receives one channel's events.
type Subscriber struct {
	// Notify is called with each notification's payload.
	Notify func(payload string)
	// Reset is called whenever notifications may have been missed: when
	// listening starts, after a reconnect, and when the connection is lost.
	// Caches drop everything they hold.
	Reset func()
}

// Listener is the node's LISTEN connection. Subscribe before Start.
type Listener struct {
	pool   *pgxpool.Pool
	logger *slog.Logger

	mu      sync.Mutex
	subs    map[string][]Subscriber
	started bool
	cancel  context.CancelFunc
	done    chan struct{}
	// barriers is closed when sendBarriers has returned.
	barriers chan struct{}

	listening atomic.Bool

	// The write fence (FollowWrites): writes counts this node's finished
	// writes; synced is the count up to which every notification they
	// caused has been dispatched.
	writes      WriteCounter
	syncChannel string
	synced      atomic.Uint64
}

// WriteCounter counts the writes this node has finished (app/db's Writes).
type WriteCounter interface {
	// Count is the number of writes finished so far.
	Count() uint64
	// Wrote receives after writes (coalesced).
	Wrote() <-chan struct{}
}

// New returns a listener taking its connection from pool.
func New(pool *pgxpool.Pool, logger *slog.Logger) *Listener {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Listener{pool: pool, logger: logger, subs: map[string][]Subscriber{}}
}

// Subscribe registers s for channel. It must be called before Start, since
// LISTEN is issued when the connection is (re)established.
func (l *Listener) Subscribe(channel string, s Subscriber) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return fmt.Errorf("pgnotify: subscribe to %q after start", channel)
	}
	l.subs[channel] = append(l.subs[channel], s)
	return nil
}

// Listening reports whether the connection is up and LISTENing. While it is
// not, caches must not trust what they hold for long.
func (l *Listener) Listening() bool { return l.listening.Load() }

// FollowWrites gives the node read-your-writes: once a write counted by w
// has returned, CaughtUp is false until every notification it caused has
// been dispatched to the subscribers. Call before Start.
//
// How: notifications reach a listener in the order their transactions
// committed. After writes, the listener sends a barrier, a notification on
// a channel of its own carrying the count it had reached, in a transaction
// of its own that commits after them; when the barrier comes back, every
// notification of those writes has been dispatched before it. Barriers
// coalesce (at most one in flight, at most one per barrierEvery), commit
// without waiting for the WAL flush, and are sent again if one is lost.
func (l *Listener) FollowWrites(w WriteCounter) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.started {
		return errors.New("pgnotify: follow writes after start")
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	l.writes = w
	l.syncChannel = "licensor_sync_" + hex.EncodeToString(b[:])
	l.subs[l.syncChannel] = append(l.subs[l.syncChannel], Subscriber{Notify: l.barrierArrived})
	return nil
}

// CaughtUp reports whether a cache may answer from what it holds: the
// listener is connected and, with FollowWrites, has dispatched the
// notifications of every write this node has finished. Two atomic loads:
// cheap enough for every cached read.
func (l *Listener) CaughtUp() bool {
	if !l.listening.Load() {
		return false
	}
	return l.writes == nil || l.synced.Load() >= l.writes.Count()
}

// barrierEvery spaces barriers under a steady stream of writes: while one
// is awaited, reads go to the database, which is correct, only slower.
const barrierEvery = 2 * time.Millisecond

// resendAfter sends a barrier again when none came back (a reconnect lost
// it): the caches would otherwise stay bypassed until the next write.
const resendAfter = time.Second

func (l *Listener) barrierArrived(payload string) {
	n, err := strconv.ParseUint(payload, 10, 64)
	if err != nil {
		return
	}
	for {
		cur := l.synced.Load()
		if n <= cur || l.synced.CompareAndSwap(cur, n) {
			return
		}
	}
}

// sendBarriers runs until ctx ends, sending a barrier whenever the write
// count has passed what came back.
func (l *Listener) sendBarriers(ctx context.Context) {
	retry := time.NewTicker(resendAfter)
	defer retry.Stop()
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.writes.Wrote():
		case <-retry.C:
		}
		if wait := barrierEvery - time.Since(last); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		n := l.writes.Count()
		if !l.listening.Load() || n <= l.synced.Load() {
			continue
		}
		last = time.Now()
		// One round trip; the channel and count are ours, not input.
		q := fmt.Sprintf("BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('%s', '%d'); COMMIT", l.syncChannel, n)
		if _, err := l.pool.Exec(ctx, q, pgx.QueryExecModeSimpleProtocol); err != nil && ctx.Err() == nil {
			l.logger.Warn("pgnotify: write barrier not sent; caches read the database until one is", "error", err)
		}
	}
}

// Start runs the listener until ctx ends or Close is called. It waits for
// the first connection attempt and returns its error, but keeps retrying in
// the background either way.
func (l *Listener) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return errors.New("pgnotify: already started")
	}
	l.started = true
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	l.mu.Unlock()

	first := make(chan error, 1)
	go l.run(ctx, first)
	if l.writes != nil {
		l.barriers = make(chan struct{})
		go func() {
			defer close(l.barriers)
			l.sendBarriers(ctx)
		}()
	}
	select {
	case err := <-first:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops listening and waits for the goroutine to end.
func (l *Listener) Close() {
	l.mu.Lock()
	cancel, done, barriers := l.cancel, l.done, l.barriers
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	if barriers != nil {
		<-barriers
	}
}

func (l *Listener) run(ctx context.Context, first chan<- error) {
	defer close(l.done)
	backoff := 100 * time.Millisecond
	for {
		connected := false
		err := l.session(ctx, func() {
			connected = true
			backoff = 100 * time.Millisecond
			select {
			case first <- nil:
			default:
			}
		})
		l.listening.Store(false)
		if ctx.Err() != nil {
			// Closing: nothing will read the caches again, and reloading
			// them now would only race the database's own close.
			select {
			case first <- ctx.Err():
			default:
			}
			return
		}
		l.resetAll()
		if !connected {
			select {
			case first <- err:
			default:
			}
		}
		l.logger.Warn("pgnotify: listener connection lost; reconnecting", "error", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// session holds one connection until it fails or ctx ends.
func (l *Listener) session(ctx context.Context, onListening func()) error {
	pc, err := l.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire connection: %w", err)
	}
	// Take the connection out of the pool: a connection with LISTEN active
	// must never be handed to a query, and the pool must not count it.
	conn := pc.Hijack()
	defer conn.Close(context.WithoutCancel(ctx)) //nolint:errcheck

	l.mu.Lock()
	channels := make([]string, 0, len(l.subs))
	for ch := range l.subs {
		channels = append(channels, ch)
	}
	l.mu.Unlock()
	for _, ch := range channels {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ch}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	// Whatever the caches loaded before LISTEN took effect may be stale;
	// once they are reset, every write finished before is accounted for.
	var written uint64
	if l.writes != nil {
		written = l.writes.Count()
	}
	l.listening.Store(true)
	l.resetAll()
	l.barrierArrived(strconv.FormatUint(written, 10))
	onListening()

	for {
		wctx, cancel := context.WithTimeout(ctx, pingEvery)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			l.dispatch(n.Channel, n.Payload)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			if err := conn.Ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
		default:
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}

func (l *Listener) dispatch(channel, payload string) {
	l.mu.Lock()
	subs := l.subs[channel]
	l.mu.Unlock()
	for _, s := range subs {
		if s.Notify != nil {
			s.Notify(payload)
		}
	}
}

func (l *Listener) resetAll() {
	l.mu.Lock()
	var resets []func()
	for _, subs := range l.subs {
		for _, s := range subs {
			if s.Reset != nil {
				resets = append(resets, s.Reset)
			}
		}
	}
	l.mu.Unlock()
	for _, r := range resets {
		r()
	}
}
