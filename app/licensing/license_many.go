package licensing

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
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
