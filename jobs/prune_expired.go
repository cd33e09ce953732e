package jobs

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
)

// Pruner deletes expired rows of one kind and says how many.
type Pruner struct {
	Name  string
	Prune func(ctx context.Context) (int64, error)
}

// pruneExpiredWorker runs every pruner; it is a periodic job so only the
// elected leader node enqueues it.
type pruneExpiredWorker struct {
	river.WorkerDefaults[jobargs.PruneExpired]
	deps Deps
}

func (w *pruneExpiredWorker) Work(ctx context.Context, job *river.Job[jobargs.PruneExpired]) error {
	for _, p := range w.deps.Pruners {
		n, err := p.Prune(ctx)
		if err != nil {
			return fmt.Errorf("prune %s: %w", p.Name, err)
		}
		if n > 0 {
			w.deps.Logger.Info("pruned expired rows", "kind", p.Name, "rows", n)
		}
	}
	return nil
}
