package jobs

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
)

// releaseActivationsWorker releases the activations that missed their
// heartbeat (licensing.Service.ReleaseOverdue): batched, each batch one
// transaction, rows another run holds skipped, so a retry or a second run
// only finishes what is left.
type releaseActivationsWorker struct {
	river.WorkerDefaults[jobargs.ReleaseActivations]
	deps Deps
}

func (w *releaseActivationsWorker) Work(ctx context.Context, _ *river.Job[jobargs.ReleaseActivations]) error {
	res, err := w.deps.ReleaseOverdue(ctx)
	if err != nil {
		return err
	}
	if res.Released > 0 || res.Kept > 0 {
		w.deps.Logger.Info("missed heartbeats", "released", res.Released, "kept", res.Kept)
	}
	return nil
}
