package jobs

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/autoblacklist"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
)

// blacklistScanWorker runs the hourly auto-blacklist.
type blacklistScanWorker struct {
	river.WorkerDefaults[jobargs.BlacklistScan]
	deps Deps
}

func (w *blacklistScanWorker) Timeout(*river.Job[jobargs.BlacklistScan]) time.Duration {
	return 10 * time.Minute
}

func (w *blacklistScanWorker) Work(ctx context.Context, _ *river.Job[jobargs.BlacklistScan]) error {
	res, err := autoblacklist.Run(ctx, w.deps.DB, w.deps.Now())
	if err != nil {
		return err
	}
	if len(res.Domains)+len(res.IPs) > 0 {
		w.deps.Logger.Info("auto-blacklist", "domains", res.Domains, "ips", res.IPs)
	}
	return nil
}
