package jobs

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/webhooks"
)

// deliverWebhookWorker posts one webhook delivery; a failed attempt is
// retried after the waits of docs/api/webhooks.md (webhooks.Backoff), at most
// jobargs.WebhookMaxAttempts times.
type deliverWebhookWorker struct {
	river.WorkerDefaults[jobargs.DeliverWebhook]
	deliverer *webhooks.Deliverer
	backoff   func(failed int) time.Duration
}

func (w *deliverWebhookWorker) Timeout(*river.Job[jobargs.DeliverWebhook]) time.Duration {
	return webhooks.Timeout + 50*time.Second
}

func (w *deliverWebhookWorker) NextRetry(job *river.Job[jobargs.DeliverWebhook]) time.Time {
	return time.Now().Add(w.backoff(job.Attempt))
}

func (w *deliverWebhookWorker) Work(ctx context.Context, job *river.Job[jobargs.DeliverWebhook]) error {
	err := w.deliverer.Deliver(ctx, job.Args.DeliveryID, job.Args.Round, job.Attempt >= job.MaxAttempts)
	switch {
	case errors.Is(err, webhooks.ErrGone):
		return river.JobCancel(err)
	case errors.Is(err, webhooks.ErrBusy):
		return river.JobSnooze(30 * time.Second)
	}
	return err
}
