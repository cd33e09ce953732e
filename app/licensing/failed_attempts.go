package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// DeleteFailedAttemptsBefore removes recorded failed activation attempts
// (is_valid false) older than t (retention, failed_attempt_retention_days).
// Successful activations are never deleted by age.
func DeleteFailedAttemptsBefore(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Activation)(nil)).Where("NOT is_valid").Where("created_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune failed activation attempts: %w", err)
	}
	return res.RowsAffected()
}
