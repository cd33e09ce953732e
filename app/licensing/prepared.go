package licensing

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// sqlRunner is the database/sql handle under a bun.IDB.
type sqlRunner interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// preparedRunner returns the database/sql handle under idb, or nil for a
// bun.IDB of another kind. The hot paths' statements in a transaction
// (activate, deactivate; verify's, outside one, go through pgx itself:
// directPool) are sent through it with pgx.QueryExecModeCacheStatement as
// the first argument and $n placeholders: pgx then prepares each once per
// connection and PostgreSQL plans it once, where bun's queries, whose
// texts embed their values, are parsed and planned on every call.
func preparedRunner(idb bun.IDB) sqlRunner {
	switch q := idb.(type) {
	case *bun.DB:
		return q.DB
	case bun.Tx:
		return q.Tx
	case *bun.Tx:
		return q.Tx
	case bun.Conn:
		return q.Conn
	}
	return nil
}

// runner is preparedRunner(idb), sending its statements unprepared when
// the service was built with Unprepared (database.prepared_statements:
// false, for a pooler that does not carry prepared statements from one
// transaction to the next, docs/deploy.md#connection-poolers).
func (s *Service) runner(idb bun.IDB) sqlRunner {
	r := preparedRunner(idb)
	if r == nil || !s.unprepared {
		return r
	}
	return unprepared{r}
}

// unprepared turns a statement's pgx.QueryExecModeCacheStatement into
// pgx.QueryExecModeExec: the same $n parameters in one round trip, through
// the unnamed statement, which lives only within that round trip.
type unprepared struct{ r sqlRunner }

func execMode(args []any) []any {
	if len(args) > 0 && args[0] == pgx.QueryExecModeCacheStatement {
		out := append([]any{pgx.QueryExecModeExec}, args[1:]...)
		return out
	}
	return args
}

func (u unprepared) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return u.r.QueryContext(ctx, query, execMode(args)...)
}

func (u unprepared) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return u.r.QueryRowContext(ctx, query, execMode(args)...)
}

func (u unprepared) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return u.r.ExecContext(ctx, query, execMode(args)...)
}

// directPool is the pool under idb when idb is a pool itself (*bun.DB: the
// primary's, or the read replicas'), whose connections a hot read then
// takes through pgx itself (db.WithPgx); nil for a transaction or a
// connection, whose statements go through database/sql (runner).
func directPool(idb bun.IDB) *sql.DB {
	if d, ok := idb.(*bun.DB); ok {
		return d.DB
	}
	return nil
}

// execMode is how a hot read through pgx itself sends its statement: as
// runner does, prepared once per connection unless the service was built
// with Unprepared.
func (s *Service) execMode() pgx.QueryExecMode {
	if s.unprepared {
		return pgx.QueryExecModeExec
	}
	return pgx.QueryExecModeCacheStatement
}
