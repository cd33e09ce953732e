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
// nothing a cache holds. A pgx batch (RunPipelined's) is counted at its
// end, as its COMMIT may be in it; COPY, which database/sql cannot send,
// is not seen. Writes marked NoCacheChange move Last (the read replicas'
// fence) but not Count (the caches').
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

// add counts a finished write of the given level: every write moves Last;
// only a write that may have notified a cache moves Count.
func (w *Writes) add(level int) {
	w.last.Store(int64(time.Since(epoch)))
	if level < fenced {
		return
	}
	w.n.Add(1)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
}

// The levels of a write, kept per connection for a transaction (dirtyKey):
// the highest of its statements' counts at its commit.
const (
	// replicaOnly: a write that notifies no cache (NoCacheChange): only
	// the read replicas' fence (Last) waits for it.
	replicaOnly = 1
	// fenced: any other write; the caches' fence (Count) waits for the
	// notifications it may have caused.
	fenced = 2
)

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

type noCacheChangeKey struct{}

// NoCacheChange marks ctx's writes as changing nothing that any node's
// cache holds: no trigger or statement NOTIFYs a cache's channel for them
// (an activation's insert, a license's counters, the activity log). They
// still move Last, so the read replicas wait for them as for any write,
// but not Count: the caches' fence has no notification to wait for, so
// the listener sends no barrier for them (pgnotify.Listener.FollowWrites)
// and the node's caches stay trusted. A transaction that also writes
// through an unmarked ctx counts as any other.
func NoCacheChange(ctx context.Context) context.Context {
	return context.WithValue(ctx, noCacheChangeKey{}, true)
}

// level is the level of a write sent with ctx.
func level(ctx context.Context) int {
	if b, _ := ctx.Value(noCacheChangeKey{}).(bool); b {
		return replicaOnly
	}
	return fenced
}

// markDirty raises the level of pc's open transaction to at least lvl.
func markDirty(data map[string]any, lvl int) {
	if cur, _ := data[dirtyKey].(int); lvl > cur {
		data[dirtyKey] = lvl
	}
}

// dirtyKey is the per-connection level (pgconn's CustomData) of a
// transaction that has written and not yet ended.
const dirtyKey = "licensor.db.wrote"

// TraceQueryStart marks a connection whose statement text holds several
// statements (a transaction may begin and commit inside it, with a
// command tag that tells nothing of it).
func (w *Writes) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if strings.IndexByte(data.SQL, ';') >= 0 && !isBookkeeping(ctx) {
		markDirty(conn.PgConn().CustomData(), level(ctx))
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
			markDirty(pc.CustomData(), level(ctx))
			return
		}
		w.add(level(ctx))
	case inTx:
		return
	default:
		// A statement ended outside a transaction: COMMIT, ROLLBACK, or
		// anything else (a multi-statement text).
		data := pc.CustomData()
		lvl, _ := data[dirtyKey].(int)
		if lvl == 0 {
			return
		}
		delete(data, dirtyKey)
		if tag.String() == "ROLLBACK" {
			return
		}
		w.add(lvl)
	}
}

// TraceBatchStart: a batch (RunPipelined's) is counted as its statements
// end (TraceBatchQuery) and as it ends (TraceBatchEnd).
func (w *Writes) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

// TraceBatchQuery marks the connection dirty for a write of the batch.
// Whether it was inside a transaction cannot be told yet: the connection's
// transaction status is the one of before the batch until the batch's
// end, so every write waits for TraceBatchEnd.
func (w *Writes) TraceBatchQuery(ctx context.Context, conn *pgx.Conn, data pgx.TraceBatchQueryData) {
	tag := data.CommandTag
	if data.Err != nil || isBookkeeping(ctx) {
		return
	}
	if (tag.Insert() || tag.Update() || tag.Delete() || strings.HasPrefix(tag.String(), "MERGE")) && tag.RowsAffected() > 0 {
		markDirty(conn.PgConn().CustomData(), level(ctx))
	}
}

// countCommitted counts the connection's writes of a transaction whose
// COMMIT was answered on a connection lost before it was ready again
// (RunPipelined's ExecCommit), which TraceBatchEnd does not count.
func (w *Writes) countCommitted(conn *pgx.Conn) {
	data := conn.PgConn().CustomData()
	lvl, _ := data[dirtyKey].(int)
	if lvl == 0 {
		return
	}
	delete(data, dirtyKey)
	w.add(lvl)
}

// TraceBatchEnd counts the connection's writes when the batch left it
// outside a transaction: its statements ran on their own or its COMMIT
// (RunPipelined's ExecCommit) ended the transaction they were part of. A
// batch that failed part-way may have written nothing; it is counted all
// the same, as a fence waiting for a write that did not happen only waits.
func (w *Writes) TraceBatchEnd(_ context.Context, conn *pgx.Conn, _ pgx.TraceBatchEndData) {
	pc := conn.PgConn()
	if pc.TxStatus() != 'I' {
		return
	}
	data := pc.CustomData()
	lvl, _ := data[dirtyKey].(int)
	if lvl == 0 {
		return
	}
	delete(data, dirtyKey)
	w.add(lvl)
}
