package licensing

import (
	"context"
	"database/sql"

	"github.com/uptrace/bun"
)

// sqlRunner is the database/sql handle under a bun.IDB.
type sqlRunner interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// preparedRunner returns the database/sql handle under idb, or nil for a
// bun.IDB of another kind. The hot paths (verify, activate) send their
// statements through it with pgx.QueryExecModeCacheStatement as the first
// argument and $n placeholders: pgx then prepares each once per connection
// and PostgreSQL plans it once, where bun's queries, whose texts embed
// their values, are parsed and planned on every call.
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
