// Package db opens PostgreSQL for bun and River, applies migrations, and runs
// the private cluster used when no database URL is configured.
package db

import (
	"context"
	"database/sql"
	"fmt"
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
}

// DB bundles the two handles on one database: bun for Licensor's own queries
// and a pgx pool for River's worker client. Both are opened from one DSN.
type DB struct {
	Bun  *bun.DB
	SQL  *sql.DB
	Pool *pgxpool.Pool
	DSN  string
}

// Open connects to dsn and checks the connection.
func Open(ctx context.Context, dsn string, opts PoolOptions) (*DB, error) {
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
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
	bunConfig := pcfg.ConnConfig.Copy()
	bunConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	sqldb := stdlib.OpenDB(*bunConfig)
	if opts.MaxOpenConns > 0 {
		sqldb.SetMaxOpenConns(opts.MaxOpenConns)
	}
	sqldb.SetMaxIdleConns(opts.MaxIdleConns)
	sqldb.SetConnMaxLifetime(opts.ConnMaxLifetime)
	bdb := bun.NewDB(sqldb, pgdialect.New())

	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := bdb.PingContext(pingCtx); err != nil {
		pool.Close()
		_ = bdb.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{Bun: bdb, SQL: sqldb, Pool: pool, DSN: dsn}, nil
}

// Close closes both handles.
func (d *DB) Close() error {
	d.Pool.Close()
	return d.Bun.Close()
}

// Ping reports whether the database answers within the context's deadline.
func (d *DB) Ping(ctx context.Context) error {
	return d.Bun.PingContext(ctx)
}
