// Package pgnotify keeps one dedicated PostgreSQL connection LISTENing on
// the channels of every in-memory cache of a node (settings, products, …)
// and calls the caches back, so a change committed on one node reaches the
// others within milliseconds. Every cache uses this one listener: one
// connection per node however many caches there are.
package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	listening atomic.Bool
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
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
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
	l.listening.Store(true)
	// Whatever the caches loaded before LISTEN took effect may be stale.
	l.resetAll()
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
