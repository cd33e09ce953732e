package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// RunPipelined runs f in a transaction on one of bdb's pooled connections
// whose BEGIN goes out in the same round trip as f's first statement and
// whose COMMIT, when f asks (Pipe.ExecCommit), in the same round trip as
// its last: a short write transaction (activate) then takes two round
// trips where database/sql's BEGIN and COMMIT, each sent on its own, make
// it four. The transaction is committed when f returns nil, else rolled
// back, as RunInTx's.
//
// The transaction is PostgreSQL's, begun on the connection behind
// database/sql's back: f's bun statements (Pipe.Bun, a bun.Conn) run in it,
// but there is no *sql.Tx, so nothing that needs one (River's enqueue,
// jobqueue.Add, refuses a bun.Conn) can take part. f's first statement
// must go through Pipe.Query or Pipe.Exec, which send the BEGIN. Writes
// (the caches' and replicas' fences) counts the transaction's writes at
// its commit, as for any other.
//
// With prepared, f's pgx statements (and BEGIN and COMMIT) are prepared
// once per connection by their text (pgx's Conn.Prepare) and sent by name;
// without (database.prepared_statements: false, behind a transaction
// pooler) they go unnamed, parsed on every call, as pgx.QueryExecModeExec.
//
// A connection found lost before anything was sent is replaced, f running
// again from the start on another, as database/sql does for a BEGIN; after
// that an error ends the transaction. A connection whose transaction could
// not be ended is closed, never pooled with it open.
func RunPipelined(ctx context.Context, bdb *bun.DB, prepared bool, f func(ctx context.Context, p *Pipe) error) error {
	var err error
	for range maxBadConnRetries + 1 {
		if err = runPipelinedOnce(ctx, bdb, prepared, f); !errors.Is(err, errPipeRetry) {
			return err
		}
	}
	return errors.Unwrap(err)
}

// errPipeRetry wraps the error of a pipeline's first round trip that
// never reached the server: RunPipelined tries again on another
// connection.
var errPipeRetry = errors.New("db: pipeline's connection lost before it began")

type retryPipe struct{ err error }

func (r retryPipe) Error() string        { return r.err.Error() }
func (r retryPipe) Unwrap() error        { return r.err }
func (r retryPipe) Is(target error) bool { return target == errPipeRetry }

func runPipelinedOnce(ctx context.Context, bdb *bun.DB, prepared bool, f func(ctx context.Context, p *Pipe) error) error {
	conn, err := bdb.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	p := &Pipe{conn: conn, prepared: prepared}
	if err := f(ctx, p); err != nil {
		p.end(ctx)
		if errors.Is(err, errPipeRetry) && !p.begun {
			return retryPipe{err}
		}
		return err
	}
	if !p.committed {
		if !p.begun {
			return nil // nothing was sent
		}
		err = p.raw(func(c *pgx.Conn) error {
			tag, err := c.Exec(ctx, "commit")
			if err != nil {
				return err
			}
			return committed(tag)
		})
	}
	p.end(ctx)
	return err
}

// committed is the error of a COMMIT whose transaction had failed:
// PostgreSQL answers it ROLLBACK, not an error.
func committed(tag pgconn.CommandTag) error {
	if tag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	return nil
}

// Pipe is RunPipelined's transaction.
type Pipe struct {
	conn      bun.Conn
	prepared  bool
	begun     bool
	committed bool
}

// Bun is the transaction's connection for bun's statements (once the
// transaction has begun: after Pipe.Query or Pipe.Exec). It is no bun.Tx:
// nothing may begin or end a transaction on it.
func (p *Pipe) Bun() bun.Conn { return p.conn }

// Begun reports whether the BEGIN has gone out.
func (p *Pipe) Begun() bool { return p.begun }

// Query runs query (with BEGIN before it when it is the transaction's
// first) and hands its rows to scan, which must read and close them.
func (p *Pipe) Query(ctx context.Context, query string, scan func(pgx.Rows) error, args ...any) error {
	return p.send(ctx, query, args, scan, false)
}

// Exec runs a statement that returns no rows (with BEGIN before it when it
// is the transaction's first).
func (p *Pipe) Exec(ctx context.Context, query string, args ...any) error {
	return p.send(ctx, query, args, nil, false)
}

// ExecCommit runs the transaction's last statement and its COMMIT in one
// round trip; nothing may follow it.
func (p *Pipe) ExecCommit(ctx context.Context, query string, args ...any) error {
	return p.send(ctx, query, args, nil, true)
}

// Prepared reports whether the pipeline's statements are prepared (not
// behind a transaction pooler): QueryRaw needs them.
func (p *Pipe) Prepared() bool { return p.prepared }

// QueryRaw runs query, a prepared statement, with BEGIN before it when it is
// the transaction's first, and hands scan each row's fields and raw values
// (valid only until scan returns); args are its parameters in text form
// (nil for NULL). The statement is bound with the description
// Conn.Prepare keeps for it: a pgx.Batch in bun's connections' exec mode
// asks the server to describe it again on every call, and decodes its
// column names anew (23 allocations for activate's lock). Results come in
// the form pgx would ask for (binary where its type map can). Its writes
// are counted at the transaction's commit as Query's are (Writes).
func (p *Pipe) QueryRaw(ctx context.Context, query string, scan func(fields []pgconn.FieldDescription, values [][]byte) error, args ...[]byte) error {
	if !p.prepared {
		return errors.New("db: QueryRaw without prepared statements")
	}
	if p.committed {
		return errors.New("db: a statement after the pipeline's COMMIT")
	}
	return p.trip(func(c *pgx.Conn, first bool) error {
		var begin *pgconn.StatementDescription
		if first {
			var err error
			if begin, err = c.Prepare(ctx, "begin", "begin"); err != nil {
				return fmt.Errorf("prepare %q: %w", "begin", err)
			}
		}
		sd, err := c.Prepare(ctx, query, query)
		if err != nil {
			return fmt.Errorf("prepare %.40q: %w", query, err)
		}
		formats := make([]int16, len(sd.Fields))
		for i, f := range sd.Fields {
			formats[i] = c.TypeMap().FormatCodeForOID(f.DataTypeOID)
		}
		var b pgconn.Batch
		if first {
			b.ExecStatement(begin, nil, nil, nil)
		}
		b.ExecStatement(sd, args, nil, formats)
		mrr := c.PgConn().ExecBatch(ctx, &b)
		err = rawResults(ctx, c.PgConn(), mrr, first, scan)
		if cerr := mrr.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// trip runs one round trip of the pipeline on its connection, first when
// it is the one to send BEGIN. A first trip that failed before reaching
// the server (a closed connection, an error pgconn deems safe to retry)
// is marked for RunPipelined to try again on another connection; any
// other trip's error is the transaction's.
func (p *Pipe) trip(f func(c *pgx.Conn, first bool) error) error {
	first := !p.begun
	err := p.raw(func(c *pgx.Conn) error {
		if first && c.IsClosed() {
			return retryPipe{driver.ErrBadConn}
		}
		err := f(c, first)
		if err != nil && first && pgconn.SafeToRetry(err) {
			return retryPipe{err}
		}
		return err
	})
	if !errors.Is(err, errPipeRetry) {
		p.begun = true
	}
	return err
}

// rawResults reads QueryRaw's results: BEGIN's when first, then the
// statement's rows, and marks the connection for a write (Writes: no
// tracer sees a pgconn batch) to be counted at the commit.
func rawResults(ctx context.Context, pc *pgconn.PgConn, mrr *pgconn.MultiResultReader, first bool, scan func([]pgconn.FieldDescription, [][]byte) error) error {
	if first {
		if !mrr.NextResult() {
			return fmt.Errorf("begin: %w", errNoResult(mrr))
		}
		if _, err := mrr.ResultReader().Close(); err != nil {
			return err
		}
	}
	if !mrr.NextResult() {
		return errNoResult(mrr)
	}
	rr := mrr.ResultReader()
	fields := rr.FieldDescriptions()
	var err error
	for rr.NextRow() {
		if err = scan(fields, rr.Values()); err != nil {
			break
		}
	}
	tag, cerr := rr.Close()
	if err == nil {
		err = cerr
	}
	if err == nil && !isBookkeeping(ctx) && tag.RowsAffected() > 0 &&
		(tag.Insert() || tag.Update() || tag.Delete() || strings.HasPrefix(tag.String(), "MERGE")) {
		markDirty(pc.CustomData(), level(ctx))
	}
	return err
}

// errNoResult is the error of a batch that ended before a result it sent.
func errNoResult(mrr *pgconn.MultiResultReader) error {
	if err := mrr.Close(); err != nil {
		return err
	}
	return errors.New("db: a pipelined statement without a result")
}

// send sends query, BEGIN before it when nothing was sent yet and COMMIT
// after it when commit, as one batch.
func (p *Pipe) send(ctx context.Context, query string, args []any, scan func(pgx.Rows) error, commit bool) error {
	if p.committed {
		return errors.New("db: a statement after the pipeline's COMMIT")
	}
	err := p.trip(func(c *pgx.Conn, first bool) error {
		begin, stmt, end, err := p.statements(ctx, c, query, first, commit)
		if err != nil {
			return err
		}
		if !first && !commit {
			// One statement: no batch needed.
			if scan != nil {
				rows, err := c.Query(ctx, stmt, args...)
				if err != nil {
					return err
				}
				return scan(rows)
			}
			_, err := c.Exec(ctx, stmt, args...)
			return err
		}
		b := &pgx.Batch{}
		if first {
			b.Queue(begin)
		}
		b.Queue(stmt, args...)
		if commit {
			b.Queue(end)
		}
		br := c.SendBatch(ctx, b)
		err = p.results(br, first, scan, commit)
		cerr := br.Close()
		switch {
		case err == nil && commit && cerr != nil:
			// COMMIT answered: the transaction is committed, though the
			// connection ended before it was ready again (a server shutting
			// down reads the batch's Sync after running its COMMIT, and
			// may end there). Reporting a failure would make the caller
			// answer "not done" for what is stored. The lost connection
			// is discarded by the pool; its writes are counted here, as
			// TraceBatchEnd saw no idle connection.
			if w, ok := c.Config().Tracer.(*Writes); ok {
				w.countCommitted(c)
			}
		case err == nil:
			err = cerr
		}
		return err
	})
	if commit && err == nil {
		p.committed = true
	}
	return err
}

// results reads a batch's results in order.
func (p *Pipe) results(br pgx.BatchResults, first bool, scan func(pgx.Rows) error, commit bool) error {
	if first {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	if scan != nil {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		if err := scan(rows); err != nil {
			return err
		}
	} else if _, err := br.Exec(); err != nil {
		return err
	}
	if commit {
		tag, err := br.Exec()
		if err != nil {
			return err
		}
		return committed(tag)
	}
	return nil
}

// statements are the texts (or, prepared, the prepared statements' keys)
// to send: pgx looks a batch's query up among the connection's prepared
// statements by the key Prepare gave it, which is the text itself when the
// name is the text.
func (p *Pipe) statements(ctx context.Context, c *pgx.Conn, query string, first, commit bool) (begin, stmt, end string, err error) {
	begin, stmt, end = "begin", query, "commit"
	if !p.prepared {
		return begin, stmt, end, nil
	}
	for _, q := range []string{begin, stmt, end} {
		if (q == begin && !first) || (q == end && !commit) {
			continue
		}
		if _, err := c.Prepare(ctx, q, q); err != nil {
			return "", "", "", fmt.Errorf("prepare %.40q: %w", q, err)
		}
	}
	return begin, stmt, end, nil
}

// raw runs f on the *pgx.Conn under the pipeline's connection.
func (p *Pipe) raw(f func(*pgx.Conn) error) error {
	return p.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("db: a connection of another driver")
		}
		return f(c.Conn())
	})
}

// end rolls back a transaction left open (f failed, or a batch stopped
// before its COMMIT); a connection whose transaction it cannot end is
// closed, so database/sql drops it rather than pool it mid-transaction.
func (p *Pipe) end(ctx context.Context) {
	_ = p.raw(func(c *pgx.Conn) error {
		if c.IsClosed() || c.PgConn().TxStatus() == 'I' {
			return nil
		}
		ctx := context.WithoutCancel(ctx)
		if _, err := c.Exec(ctx, "rollback"); err != nil || c.PgConn().TxStatus() != 'I' {
			_ = c.Close(ctx)
		}
		return nil
	})
}
