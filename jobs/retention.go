package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/retention"
)

// retentionWorker runs the daily clean-up.
type retentionWorker struct {
	river.WorkerDefaults[jobargs.Retention]
	deps Deps
}

func (w *retentionWorker) Timeout(*river.Job[jobargs.Retention]) time.Duration {
	return 10 * time.Minute
}

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[jobargs.Retention]) error {
	deleted, err := retention.Run(ctx, w.deps.DB, w.deps.Now())
	for _, d := range deleted {
		if d.Rows > 0 {
			w.deps.Logger.Info("retention", "kind", d.Kind, "rows", d.Rows)
		}
	}
	return err
}
