// Package jobs holds Licensor's River workers, one file per job kind, and
// builds the River client that runs them. Workers call domain packages,
// never HTTP handlers.
package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/jobqueue/jobargs"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
)

// Deps are what the workers need, passed in by main. A job kind whose
// dependency is nil is not registered (tests build clients with only what
// they exercise); main gives them all.
type Deps struct {
	Logger  *slog.Logger
	Pruners []Pruner

	// DB runs the auto-blacklist and the retention clean-up.
	DB bun.IDB
	// Settings schedules the daily expiry scan (expiry_scan_time,
	// timezone).
	Settings *settings.Store
	Mail     *mail.Sender
	// PasswordReset queues the reset email of the customer with an
	// address, if there is one (the password_reset job).
	PasswordReset func(ctx context.Context, email string) error
	Webhooks      *webhooks.Deliverer
	Expiry        *expiry.Scanner
	// Imports runs the import job (with main's format registry).
	Imports *imports.Service
	// Orders applies order sync events; OrderPoller polls the order sync
	// plugins every OrderPollEvery (default 5 minutes).
	Orders         *orders.Processor
	OrderPoller    *orders.Poller
	OrderPollEvery time.Duration
	// ReleaseOverdue releases the activations that missed their heartbeat,
	// every ReleaseEvery (default 15 seconds): the release_activations job.
	ReleaseOverdue func(ctx context.Context) (licensing.ReleaseResult, error)
	ReleaseEvery   time.Duration
	// Now is the clock of the scans; nil means time.Now.
	Now func() time.Time
	// WebhookBackoff spaces webhook attempts; nil means webhooks.Backoff.
	WebhookBackoff func(failed int) time.Duration
}

// Options tune the client.
type Options struct {
	Workers    int
	PruneEvery time.Duration // default 10 minutes
	PollOnly   bool          // tests on a shared server may prefer polling
	FetchPoll  time.Duration // default River's
	JobTimeout time.Duration // default 5 minutes
	// RescueAfter is how long a job may stay running before River's
	// rescuer (on the leader) takes it for dead (its node was killed) and
	// retries it. It must exceed every job's timeout; default 15 minutes.
	RescueAfter time.Duration
	// FinishedJobRetention is how long River itself keeps completed,
	// cancelled and discarded jobs (main passes the
	// finished_jobs_retention_days setting read at start-up; the daily
	// retention job applies later changes). Default 7 days.
	FinishedJobRetention time.Duration
	// RetryPolicy overrides River's backoff for jobs without their own
	// (tests shorten it); nil keeps River's.
	RetryPolicy river.ClientRetryPolicy
	// MaxRetryWait caps every retry's wait, River's backoff and the
	// webhooks' schedule alike; zero leaves them uncapped.
	MaxRetryWait time.Duration
	// ImportTimeout bounds one run of the import job; default 30 minutes.
	// River rescues a killed node's import only once it has passed too.
	ImportTimeout time.Duration
	// ScheduleTick is how often the expiry scan's schedule re-reads its
	// setting; default 5 minutes.
	ScheduleTick time.Duration
}

// NewClient builds a River client with every worker and periodic job
// registered. Start it with client.Start(ctx); stop it with client.Stop.
func NewClient(pool *pgxpool.Pool, deps Deps, opts Options) (*river.Client[pgx.Tx], error) {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.WebhookBackoff == nil {
		deps.WebhookBackoff = webhooks.Backoff
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
	if opts.RescueAfter <= 0 {
		opts.RescueAfter = 15 * time.Minute
	}
	if opts.FinishedJobRetention <= 0 {
		opts.FinishedJobRetention = 7 * 24 * time.Hour
	}
	if opts.ScheduleTick <= 0 {
		opts.ScheduleTick = 5 * time.Minute
	}
	if opts.ImportTimeout <= 0 {
		opts.ImportTimeout = 30 * time.Minute
	}
	if opts.MaxRetryWait > 0 {
		policy := opts.RetryPolicy
		if policy == nil {
			policy = &river.DefaultClientRetryPolicy{}
		}
		opts.RetryPolicy = cappedRetryPolicy{policy: policy, max: opts.MaxRetryWait}
		backoff, limit := deps.WebhookBackoff, opts.MaxRetryWait
		deps.WebhookBackoff = func(failed int) time.Duration { return min(backoff(failed), limit) }
	}

	workers := river.NewWorkers()
	periodic := []*river.PeriodicJob{
		river.NewPeriodicJob(
			river.PeriodicInterval(opts.PruneEvery),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.PruneExpired{}, nil },
			&river.PeriodicJobOpts{ID: "prune_expired", RunOnStart: true},
		),
	}
	add := func(name string, err error) error {
		if err != nil {
			return fmt.Errorf("register %s worker: %w", name, err)
		}
		return nil
	}
	if err := add("prune", river.AddWorkerSafely(workers, &pruneExpiredWorker{deps: deps})); err != nil {
		return nil, err
	}
	if deps.Mail != nil {
		if err := add("send_mail", river.AddWorkerSafely(workers, &sendMailWorker{sender: deps.Mail})); err != nil {
			return nil, err
		}
	}
	if deps.PasswordReset != nil {
		if err := add("password_reset", river.AddWorkerSafely(workers, &passwordResetWorker{reset: deps.PasswordReset})); err != nil {
			return nil, err
		}
	}
	if deps.Webhooks != nil {
		w := &deliverWebhookWorker{deliverer: deps.Webhooks, backoff: deps.WebhookBackoff}
		if err := add("deliver_webhook", river.AddWorkerSafely(workers, w)); err != nil {
			return nil, err
		}
	}
	if deps.Expiry != nil && deps.Settings != nil {
		if err := add("expiry_scan", river.AddWorkerSafely(workers, &expiryScanWorker{scanner: deps.Expiry, deps: deps})); err != nil {
			return nil, err
		}
		s := expirySchedule{settings: deps.Settings, tick: opts.ScheduleTick, now: deps.Now}
		periodic = append(periodic, river.NewPeriodicJob(s, s.job, &river.PeriodicJobOpts{ID: "expiry_scan", RunOnStart: true}))
	}
	if deps.Imports != nil {
		if err := add("import", river.AddWorkerSafely(workers, &importWorker{imports: deps.Imports, timeout: opts.ImportTimeout})); err != nil {
			return nil, err
		}
	}
	if deps.Orders != nil {
		if err := add("process_order", river.AddWorkerSafely(workers, &processOrderWorker{processor: deps.Orders})); err != nil {
			return nil, err
		}
	}
	if deps.OrderPoller != nil {
		if err := add("poll_orders", river.AddWorkerSafely(workers, &pollOrdersWorker{poller: deps.OrderPoller})); err != nil {
			return nil, err
		}
		every := deps.OrderPollEvery
		if every <= 0 {
			every = 5 * time.Minute
		}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.PollOrders{}, nil },
			&river.PeriodicJobOpts{ID: "poll_orders", RunOnStart: true}))
	}
	if deps.ReleaseOverdue != nil {
		if err := add("release_activations", river.AddWorkerSafely(workers, &releaseActivationsWorker{deps: deps})); err != nil {
			return nil, err
		}
		every := deps.ReleaseEvery
		if every <= 0 {
			every = 15 * time.Second
		}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(every),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.ReleaseActivations{}, nil },
			&river.PeriodicJobOpts{ID: "release_activations", RunOnStart: true}))
	}
	if deps.DB != nil {
		if err := add("blacklist_scan", river.AddWorkerSafely(workers, &blacklistScanWorker{deps: deps})); err != nil {
			return nil, err
		}
		if err := add("retention", river.AddWorkerSafely(workers, &retentionWorker{deps: deps})); err != nil {
			return nil, err
		}
		periodic = append(periodic,
			river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.BlacklistScan{}, nil },
				&river.PeriodicJobOpts{ID: "blacklist_scan", RunOnStart: true}),
			river.NewPeriodicJob(river.PeriodicInterval(24*time.Hour),
				func() (river.JobArgs, *river.InsertOpts) { return jobargs.Retention{}, nil },
				&river.PeriodicJobOpts{ID: "retention", RunOnStart: true}),
		)
	}

	cfg := &river.Config{
		Logger:                      deps.Logger,
		Queues:                      map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: opts.Workers}},
		Workers:                     workers,
		JobTimeout:                  opts.JobTimeout,
		RescueStuckJobsAfter:        opts.RescueAfter,
		CompletedJobRetentionPeriod: opts.FinishedJobRetention,
		CancelledJobRetentionPeriod: opts.FinishedJobRetention,
		DiscardedJobRetentionPeriod: opts.FinishedJobRetention,
		RetryPolicy:                 opts.RetryPolicy,
		PollOnly:                    opts.PollOnly,
		PeriodicJobs:                periodic,
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

// cappedRetryPolicy is policy with no wait longer than max.
type cappedRetryPolicy struct {
	policy river.ClientRetryPolicy
	max    time.Duration
}

func (p cappedRetryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	next, latest := p.policy.NextRetry(job), time.Now().Add(p.max)
	if next.After(latest) {
		return latest
	}
	return next
}
