package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
)

// passwordResetWorker emails the reset link of a forgot-password request
// or of a registration with a known address, if the address has an
// account (Deps.PasswordReset); the request itself only enqueued the job.
type passwordResetWorker struct {
	river.WorkerDefaults[jobargs.PasswordReset]
	reset func(ctx context.Context, email string) error
}

func (w *passwordResetWorker) Timeout(*river.Job[jobargs.PasswordReset]) time.Duration {
	return time.Minute
}

func (w *passwordResetWorker) Work(ctx context.Context, job *river.Job[jobargs.PasswordReset]) error {
	return w.reset(ctx, job.Args.Email)
}
