package jobs

import (
	"context"
	"encoding/json"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/orders"
)

// processOrderWorker applies one order event (app/orders). A refused event
// (unmapped SKU, bad data) is logged by the processor and not retried;
// a database failure is retried by River.
type processOrderWorker struct {
	river.WorkerDefaults[jobargs.ProcessOrder]
	processor *orders.Processor
}

func (w *processOrderWorker) Timeout(*river.Job[jobargs.ProcessOrder]) time.Duration {
	return time.Minute
}

func (w *processOrderWorker) Work(ctx context.Context, job *river.Job[jobargs.ProcessOrder]) error {
	var e orders.Event
	if err := json.Unmarshal(job.Args.Event, &e); err != nil {
		return river.JobCancel(err)
	}
	_, err := w.processor.Process(ctx, job.Args.Plugin, e)
	return err
}

// pollOrdersWorker polls the enabled order sync plugins.
type pollOrdersWorker struct {
	river.WorkerDefaults[jobargs.PollOrders]
	poller *orders.Poller
}

func (w *pollOrdersWorker) Timeout(*river.Job[jobargs.PollOrders]) time.Duration {
	return 5 * time.Minute
}

func (w *pollOrdersWorker) Work(ctx context.Context, _ *river.Job[jobargs.PollOrders]) error {
	return w.poller.PollAll(ctx)
}
