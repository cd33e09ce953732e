package customers

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// Matching returns the customers whose email is one of emails or whose
// client ID is one of clientIDs, ignoring case (both columns are citext).
// A bulk import finds a batch's duplicates with one query.
func Matching(ctx context.Context, idb bun.IDB, emails, clientIDs []string) ([]Customer, error) {
	if len(emails) == 0 && len(clientIDs) == 0 {
		return nil, nil
	}
	var out []Customer
	// Joins with the unnested lists (rather than = ANY) let the planner
	// use the unique indexes; ::citext[] keeps the match case-insensitive.
	q := idb.NewSelect().Model(&out).Where(`c.id IN (
		SELECT x.id FROM customers x JOIN unnest(?::citext[]) AS e(v) ON x.email = e.v
		UNION SELECT x.id FROM customers x JOIN unnest(?::citext[]) AS k(v) ON x.client_id = k.v)`,
		pgdialect.Array(nonNil(emails)), pgdialect.Array(nonNil(clientIDs)))
	if err := q.Scan(ctx); err != nil {
		return nil, fmt.Errorf("match customers: %w", err)
	}
	return out, nil
}

// InsertMany inserts cs (built by New) in one statement and returns how
// many were inserted: a row whose email or client ID was taken meanwhile is
// left out (ON CONFLICT DO NOTHING) rather than failing the batch. It
// neither logs nor calls the Created hook; the caller logs the batch.
func InsertMany(ctx context.Context, idb bun.IDB, cs []*Customer) (int, error) {
	if len(cs) == 0 {
		return 0, nil
	}
	res, err := idb.NewInsert().Model(&cs).On("CONFLICT DO NOTHING").Returning("NULL").Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("insert %d customers: %w", len(cs), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
