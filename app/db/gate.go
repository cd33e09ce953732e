package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// ErrDown is in the error of a connection the primary's pool (DB.SQL,
// DB.Bun) did not try to open: an earlier attempt found the server gone,
// and no background probe has connected since. The error also wraps the
// attempt's own error, so Unavailable holds for it (a 503).
var ErrDown = errors.New("database unreachable, waiting for a background probe to connect")

// How often the gate's probe tries the server while it is gone, and how
// long one try may take.
const (
	probeEvery   = 100 * time.Millisecond
	probeTimeout = 5 * time.Second
)

// gate is the primary pool's connector. While PostgreSQL is down,
// restarting or failing over, each new connection would otherwise wait on
// a server that is going away: a shutdown's checkpoint on a busy machine
// kept requests a few seconds each answering "the database system is
// shutting down". Once an attempt finds the server gone (serverGone),
// every later attempt fails at once with ErrDown, while one probe in the
// background tries again every probeEvery; the first probe that connects,
// or that meets a server which is there but refuses for another reason,
// opens the gate again. One probe per node costs the server nothing, and
// requests answer 503 with Retry-After at once instead of holding a
// client and a pool slot.
type gate struct {
	base driver.Connector
	log  *slog.Logger

	// ctx ends when the pool closes; it stops the probe, and a probe's
	// attempt under way.
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	cause  error // the last attempt's error while the gate is shut, else nil
	probes sync.WaitGroup
}

func newGate(base driver.Connector, log *slog.Logger) *gate {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &gate{base: base, log: log, ctx: ctx, cancel: cancel}
}

// downError is what Connect returns while the gate is shut.
type downError struct{ cause error }

func (e *downError) Error() string   { return ErrDown.Error() + ": " + e.cause.Error() }
func (e *downError) Unwrap() []error { return []error{ErrDown, e.cause} }

// Connect opens a connection unless the server is known to be gone.
func (g *gate) Connect(ctx context.Context) (driver.Conn, error) {
	g.mu.Lock()
	cause := g.cause
	g.mu.Unlock()
	if cause != nil {
		return nil, &downError{cause}
	}
	conn, err := g.base.Connect(ctx)
	if err != nil && serverGone(err) {
		g.shut(err)
	}
	return conn, err
}

// Driver is the pgx driver under the gate.
func (g *gate) Driver() driver.Driver { return g.base.Driver() }

// Close stops the probe; sql.DB.Close calls it.
func (g *gate) Close() error {
	g.mu.Lock()
	g.cancel()
	g.mu.Unlock()
	g.probes.Wait()
	return nil
}

// shut records that the server is gone and starts the probe, once.
func (g *gate) shut(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx.Err() != nil {
		return
	}
	if g.cause != nil {
		g.cause = err
		return
	}
	g.cause = err
	g.log.Warn("database unreachable: requests answer 503 at once until it connects again", "error", err)
	g.probes.Add(1)
	go g.probe()
}

func (g *gate) probe() {
	defer g.probes.Done()
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(g.ctx, probeTimeout)
		conn, err := g.base.Connect(ctx)
		cancel()
		if err == nil {
			_ = conn.Close()
		}
		if g.ctx.Err() != nil {
			return
		}
		g.mu.Lock()
		if err != nil && serverGone(err) {
			g.cause = err
			g.mu.Unlock()
			continue
		}
		// Connected, or the server answered something else (too many
		// connections, a password changed, a slow start that timed out):
		// requests try again and meet whatever it is themselves.
		g.cause = nil
		g.mu.Unlock()
		if err != nil {
			g.log.Info("database answering again, not yet accepting this node", "error", err)
		} else {
			g.log.Info("database reachable again")
		}
		return
	}
}

// serverGone reports whether a connection attempt's error means no server
// is there to answer: nothing listens (refused, no socket), or it is
// shutting down, crashed, or still starting up. A timeout is not one (a
// loaded server is slow, not gone), nor is a full server (53300).
func serverGone(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "57P01", "57P02", "57P03":
			return true
		}
		return strings.HasPrefix(pgErr.Code, "08")
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial" && !opErr.Timeout()
}
