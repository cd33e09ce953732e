// Package jobs holds Licensor's River workers, one file per job kind, and
// builds the River client that runs them. Workers call domain packages,
// never HTTP handlers.
package jobs

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/licensor/licensor/jobs/jobargs"
)

// Deps are what the workers need, passed in by main.
type Deps struct {
	Logger  *slog.Logger
	Pruners []Pruner
}

// Options tune the client.
type Options struct {
	Workers    int
	PruneEvery time.Duration // default 10 minutes
	PollOnly   bool          // tests on a shared server may prefer polling
	FetchPoll  time.Duration // default River's
	JobTimeout time.Duration // default 5 minutes
}

// NewClient builds a River client with every worker and periodic job
// registered. Start it with client.Start(ctx); stop it with client.Stop.
func NewClient(pool *pgxpool.Pool, deps Deps, opts Options) (*river.Client[pgx.Tx], error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if opts.Workers < 1 {
		opts.Workers = 10
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = 10 * time.Minute
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = 5 * time.Minute
	}

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &pruneExpiredWorker{deps: deps}); err != nil {
		return nil, fmt.Errorf("register prune worker: %w", err)
	}

	cfg := &river.Config{
		Logger:     deps.Logger,
		Queues:     map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:    workers,
		JobTimeout: opts.JobTimeout,
		PollOnly:   opts.PollOnly,
		PeriodicJobs: []*river.PeriodicJob{
			river.NewPeriodicJob(
				river.PeriodicInterval(opts.PruneEvery),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.PruneExpired{}, nil },
				&river.PeriodicJobOpts{RunOnStart: true},
			),
		},
	}
	if opts.FetchPoll > 0 {
		cfg.FetchPollInterval = opts.FetchPoll
		cfg.FetchCooldown = opts.FetchPoll / 2
	}
	client, err := river.NewClient(riverpgxv5.New(pool), cfg)
	if err != nil {
		return nil, fmt.Errorf("river client: %w", err)
	}
	return client, nil
}
