package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
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
