// Package db opens PostgreSQL for bun and River, applies migrations, and runs
// the private cluster used when no database URL is configured.
package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Pool settings for Open.
type PoolOptions struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	// DirectURL is where the pgx pool (DB.Pool: River, the NOTIFY
	// listener, the migrations' lock) connects, when the main URL is a
	// transaction pooler (config database.listen_url); empty: the main URL.
	DirectURL string
	// Replicas, when it names any, opens the read pool (DB.Reader).
	Replicas ReplicaOptions
	// Logger hears when the primary is found gone and when it answers
	// again (gate); nil: nothing is logged.
	Logger *slog.Logger
}

// DB bundles the two handles on one database: bun for Licensor's own queries
// and a pgx pool for River's worker client and the NOTIFY listener. Both are
// opened from one DSN, unless the pgx pool is given a direct one: behind a
// pooler in transaction mode (docs/deploy.md#connection-poolers) the bun
// pool goes through the pooler and the pgx pool, which needs sessions
// (LISTEN, River's leader election and listener, advisory locks held
// across statements), straight to the primary.
type DB struct {
	Bun  *bun.DB
	SQL  *sql.DB
	Pool *pgxpool.Pool
	DSN  string
	// Writes counts the writes finished through Bun and SQL, for the
	// read-your-writes of the node's caches.
	Writes *Writes
	// Replicas is the read pool over database.replica_urls; nil without.
	Replicas *Replicas
}

// Reader is the handle for reads that tolerate a little lag (console
// lists and reports, exports, portal pages): the read pool of healthy
// replicas when there are any, else the primary's Bun. Writes,
// transactions that write, reads right after the same session's change
// and anything taking a lock use Bun (docs/deploy.md#read-replicas).
func (d *DB) Reader() bun.IDB {
	if d.Replicas != nil {
		return d.Replicas.Bun
	}
	return d.Bun
}

// ReplicaAfterOwnWrites is the read replicas' pool when every healthy
// replica has replayed every write this node has finished (DB.Writes,
// Replicas.Replayed), else nil: a read that must never be older than the
// node's own changes (uncached verify) may then take it. On a node that
// writes all the time it is mostly nil, and such reads stay on the
// primary.
func (d *DB) ReplicaAfterOwnWrites() bun.IDB {
	if d.Replicas == nil {
		return nil
	}
	replayed := d.Replicas.Replayed()
	if replayed.IsZero() || !d.Writes.Last().Before(replayed) {
		return nil
	}
	return d.Replicas.Bun
}

// Open connects to dsn and checks the connection.
func Open(ctx context.Context, dsn string, opts PoolOptions) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	bunConfig := pcfg.ConnConfig.Copy()
	if opts.DirectURL != "" && opts.DirectURL != dsn {
		if pcfg, err = pgxpool.ParseConfig(opts.DirectURL); err != nil {
			return nil, fmt.Errorf("parse database listen url: %w", err)
		}
	}
	if opts.MaxOpenConns > 0 {
		// River's pool gets a share of the budget: it holds a listener
		// connection plus short fetch/complete queries.
		pcfg.MaxConns = int32(max(4, opts.MaxOpenConns/4))
	}
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("open pgx pool: %w", err)
	}
	// bun formats every query itself and sends it without arguments, so
	// nearly every text is new (ids, codes and hosts are in it): pgx's
	// default, a prepared statement cached per text, would cost a Prepare
	// round trip per query, a DEALLOCATE per eviction and a plan kept in
	// each backend. Sent unprepared they take one round trip. A query that
	// passes its arguments to the driver (a steady text) can still ask for
	// a cached statement with pgx.QueryExecModeCacheStatement as its first
	// argument.
	bunConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	writes := newWrites()
	bunConfig.Tracer = writes
	sqldb := sql.OpenDB(newGate(stdlib.GetConnector(*bunConfig), opts.Logger))
	if opts.MaxOpenConns > 0 {
		sqldb.SetMaxOpenConns(opts.MaxOpenConns)
	}
	sqldb.SetMaxIdleConns(opts.MaxIdleConns)
	sqldb.SetConnMaxLifetime(opts.ConnMaxLifetime)
	bdb := bun.NewDB(sqldb, pgdialect.New())

	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Both pools connect at once: each first connection costs a backend's
	// start (and the authentication), and start-up waits for both.
	direct := make(chan error, 1)
	go func() { direct <- pool.Ping(pingCtx) }()
	err = bdb.PingContext(pingCtx)
	if derr := <-direct; err == nil && derr != nil {
		err = fmt.Errorf("connect to database (listen url): %w", derr)
	} else if err != nil {
		err = fmt.Errorf("connect to database: %w", err)
	}
	if err != nil {
		pool.Close()
		_ = bdb.Close()
		return nil, err
	}
	out := &DB{Bun: bdb, SQL: sqldb, Pool: pool, DSN: dsn, Writes: writes}
	if len(opts.Replicas.URLs) > 0 {
		if out.Replicas, err = openReplicas(bunConfig, opts.Replicas, opts); err != nil {
			_ = out.Close()
			return nil, err
		}
	}
	return out, nil
}

// Close closes both handles.
func (d *DB) Close() error {
	if d.Replicas != nil {
		_ = d.Replicas.Close()
	}
	d.Pool.Close()
	return d.Bun.Close()
}

// Ping reports whether the database answers within the context's deadline.
func (d *DB) Ping(ctx context.Context) error {
	return d.Bun.PingContext(ctx)
}
