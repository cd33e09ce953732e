package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/mail"
)

// sendMailWorker delivers one queued email. River retries a failed send
// with its backoff (the server is down or answered 4xx); a permanent
// refusal or a deleted message cancels the job.
type sendMailWorker struct {
	river.WorkerDefaults[jobargs.SendMail]
	sender *mail.Sender
}

func (w *sendMailWorker) Timeout(*river.Job[jobargs.SendMail]) time.Duration { return 2 * time.Minute }

func (w *sendMailWorker) Work(ctx context.Context, job *river.Job[jobargs.SendMail]) error {
	err := w.sender.Deliver(ctx, job.Args.MessageID, job.Attempt >= job.MaxAttempts)
	var perm *mail.PermanentError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, mail.ErrGone), errors.As(err, &perm):
		return river.JobCancel(err)
	case errors.Is(err, mail.ErrBusy):
		return river.JobSnooze(time.Minute)
	}
	return err
}
