package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// WithPgx runs f on the *pgx.Conn under one of sqldb's pooled connections
// (DB.SQL, or the read pool's Replicas.SQL), then hands the connection
// back. A hot read (verify) queries through pgx there without database/sql's
// driver adapter, which converts every column of every row to a
// driver.Value and back: the same pool, the same connections and their
// prepared statements, the same settings and write counting.
//
// f may run again on another connection when its connection turned out to
// be lost, as database/sql retries a query: before anything was sent on
// the primary, or at any point on the read pool (a replica stopped
// mid-read is skipped, as readConn does), so f must only read and must
// not keep what it was given.
func WithPgx(ctx context.Context, sqldb *sql.DB, f func(*pgx.Conn) error) error {
	var err error
	// database/sql's own budget: two tries on a pooled or new connection,
	// then one on a new connection.
	for range maxBadConnRetries + 1 {
		if err = withPgxOnce(ctx, sqldb, f); !errors.Is(err, driver.ErrBadConn) {
			return err
		}
	}
	return err
}

// maxBadConnRetries is database/sql's.
const maxBadConnRetries = 2

func withPgxOnce(ctx context.Context, sqldb *sql.DB, f func(*pgx.Conn) error) error {
	conn, err := sqldb.Conn(ctx)
	if err != nil {
		return err
	}
	// Raw's error (ErrBadConn) tells database/sql to drop the connection
	// rather than pool it; after that Close has nothing left to do.
	err = conn.Raw(func(dc any) error {
		switch c := dc.(type) {
		case *stdlib.Conn:
			pc := c.Conn()
			if pc.IsClosed() {
				return driver.ErrBadConn
			}
			// As stdlib.Conn's QueryContext: nothing was sent, so another
			// connection may try.
			err := f(pc)
			if err != nil && pgconn.SafeToRetry(err) {
				return driver.ErrBadConn
			}
			return err
		case readConn:
			pc := c.Conn.Conn()
			if pc.IsClosed() {
				return driver.ErrBadConn
			}
			return c.retryable(ctx, f(pc))
		default:
			return errors.New("db: a connection of another driver")
		}
	})
	_ = conn.Close()
	return err
}

// RunInTx runs f in a transaction on one of bdb's pooled connections, as
// bun's RunInTx does (committed when f returns nil, else rolled back), and
// also hands f a way to run statements of that transaction through the
// *pgx.Conn under it (Tx.WithPgx): a hot write (activate) then reads its
// rows through pgx itself, while the rest of the transaction (River's
// enqueue, bun's queries) goes through database/sql as before.
//
// A connection found lost before the transaction began is replaced, as
// database/sql's own BeginTx does; after that, an error ends the
// transaction.
func RunInTx(ctx context.Context, bdb *bun.DB, f func(ctx context.Context, tx Tx) error) error {
	var conn bun.Conn
	var btx bun.Tx
	var err error
	for range maxBadConnRetries + 1 {
		if conn, err = bdb.Conn(ctx); err != nil {
			return err
		}
		if btx, err = conn.BeginTx(ctx, nil); err == nil {
			break
		}
		_ = conn.Close()
		if !errors.Is(err, driver.ErrBadConn) {
			return err
		}
	}
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	done := false
	defer func() {
		if !done {
			_ = btx.Rollback()
		}
	}()
	if err := f(ctx, Tx{Tx: btx, conn: conn.Conn}); err != nil {
		return err
	}
	done = true
	return btx.Commit()
}

// Tx is a transaction of RunInTx: bun's, and the connection under it.
type Tx struct {
	bun.Tx
	conn *sql.Conn
}

// WithPgx runs f on the *pgx.Conn under the transaction, its statements
// part of it. f must not begin or end the transaction nor keep the
// connection.
func (t Tx) WithPgx(f func(*pgx.Conn) error) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return errors.New("db: a connection of another driver")
		}
		err := f(c.Conn())
		if errors.Is(err, driver.ErrBadConn) {
			// database/sql would close the connection under the open
			// transaction, which holds it: a deadlock. The
			// transaction's end will find the connection lost.
			err = fmt.Errorf("db: connection lost in a transaction: %v", err) // %v: not wrapped
		}
		return err
	})
}
