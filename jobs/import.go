package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
)

// importWorker runs an import of customers or licenses. The import resumes
// after its last committed batch, so a retry finishes what is left.
type importWorker struct {
	river.WorkerDefaults[jobargs.Import]
	imports *imports.Service
	timeout time.Duration // Options.ImportTimeout
}

func (w *importWorker) Timeout(*river.Job[jobargs.Import]) time.Duration { return w.timeout }

func (w *importWorker) Work(ctx context.Context, job *river.Job[jobargs.Import]) error {
	return w.imports.Run(ctx, job.Args.ImportID)
}
