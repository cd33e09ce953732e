package licensing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
)

// GetMany returns the licenses with ids, with their derived values, in id
// order; ids that match nothing are left out. Batch jobs (the expiry scan)
// read their licenses with it.
func GetMany(ctx context.Context, idb bun.IDB, ids []int64) ([]License, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var out []License
	if err := selectLicenses(idb, &out).Where("l.id IN (?)", bun.List(ids)).OrderExpr("l.id").Scan(ctx); err != nil {
		return nil, fmt.Errorf("get %d licenses: %w", len(ids), err)
	}
	return out, nil
}

// ByCodes returns the licenses whose code is one of codes, ignoring case,
// with their derived values. A bulk import finds a batch's duplicates with
// it.
func ByCodes(ctx context.Context, idb bun.IDB, codes []string) ([]License, error) {
	if len(codes) == 0 {
		return nil, nil
	}
	var out []License
	if err := selectLicenses(idb, &out).Where("l.license_code IN (SELECT unnest(?::citext[]))", pgdialect.Array(codes)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("get %d licenses by code: %w", len(codes), err)
	}
	return out, nil
}

// InsertLicenses inserts ls (built by NewLicense) in one statement and
// returns how many were inserted: a code taken meanwhile is left out (ON
// CONFLICT DO NOTHING) rather than failing the batch. It neither logs nor
// calls the hooks; the caller logs the batch.
func InsertLicenses(ctx context.Context, idb bun.IDB, ls []*License) (int, error) {
	if len(ls) == 0 {
		return 0, nil
	}
	res, err := idb.NewInsert().Model(&ls).On("CONFLICT (license_code) DO NOTHING").Returning("NULL").Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("insert %d licenses: %w", len(ls), err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
