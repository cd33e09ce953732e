package db

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Writes counts the writes that this process's bun and database/sql
// connections have finished: each autocommit statement that changed rows,
// and each transaction that did, once its COMMIT has returned. A node's
// caches compare it with what their NOTIFY listener has caught up with
// (pgnotify.Listener.FollowWrites), so a change this node made is never
// answered from a cache that has not yet heard of it, whichever code path
// made it: domain services, the console, imports, jobs, or plain SQL. Only
// the counting sits on the query path: an atomic add after a write, a
// command-tag test otherwise.
//
// River's own pool (DB.Pool) is not counted: its queue bookkeeping changes
// nothing a cache holds. Batches and COPY, which database/sql cannot send,
// are not seen.
type Writes struct {
	n     atomic.Uint64
	wrote chan struct{}
	// last is when the latest write was counted (time.Since(epoch), in
	// nanoseconds: monotonic).
	last atomic.Int64
}

// epoch is the origin of Writes.last: durations from it keep the
// monotonic clock's order.
var epoch = time.Now()

func newWrites() *Writes { return &Writes{wrote: make(chan struct{}, 1)} }

// Last is when the latest write was counted (after its commit returned);
// the zero time before any.
func (w *Writes) Last() time.Time {
	n := w.last.Load()
	if n == 0 {
		return time.Time{}
	}
	return epoch.Add(time.Duration(n))
}

// Count is the number of writes finished so far.
func (w *Writes) Count() uint64 { return w.n.Load() }

// Wrote receives (coalesced) after writes: a waiter then reads Count.
func (w *Writes) Wrote() <-chan struct{} { return w.wrote }

func (w *Writes) add() {
	w.last.Store(int64(time.Since(epoch)))
	w.n.Add(1)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
}

type bookkeepingKey struct{}

// Bookkeeping marks ctx's writes as bookkeeping that no cache reads
// (counters, last-verified times, rate-limit hits): they are not counted,
// so the batches written every second under load do not hold caches back.
func Bookkeeping(ctx context.Context) context.Context {
	return context.WithValue(ctx, bookkeepingKey{}, true)
}

func isBookkeeping(ctx context.Context) bool {
	b, _ := ctx.Value(bookkeepingKey{}).(bool)
	return b
}

// dirtyKey is the per-connection flag (pgconn's CustomData) of a
// transaction that has written and not yet ended.
const dirtyKey = "licensor.db.wrote"

// TraceQueryStart marks a connection whose statement text holds several
// statements (a transaction may begin and commit inside it, with a
// command tag that tells nothing of it).
func (w *Writes) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.IndexByte(data.SQL, ';') >= 0 && !isBookkeeping(ctx) {
		conn.PgConn().CustomData()[dirtyKey] = true
	}
	return ctx
}

// TraceQueryEnd counts a write once it is committed.
func (w *Writes) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	tag := data.CommandTag
	pc := conn.PgConn()
	inTx := pc.TxStatus() != 'I'
	switch {
	case tag.Insert() || tag.Update() || tag.Delete() || strings.HasPrefix(tag.String(), "MERGE"):
		if tag.RowsAffected() == 0 || isBookkeeping(ctx) {
			return
		}
		if inTx {
			pc.CustomData()[dirtyKey] = true
			return
		}
	case inTx:
		return
	default:
		// A statement ended outside a transaction: COMMIT, ROLLBACK, or
		// anything else (a multi-statement text).
		data := pc.CustomData()
		if dirty, _ := data[dirtyKey].(bool); !dirty {
			return
		}
		delete(data, dirtyKey)
		if tag.String() == "ROLLBACK" {
			return
		}
	}
	w.add()
}
