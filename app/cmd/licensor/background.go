package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/extensions"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/notify"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/views"
)

// background is what enqueues and runs background work on this node: the
// queue of emails and webhooks with the change hooks (Notify), and the
// expiry scanner. serve adds the workers; the scan commands use it alone.
type background struct {
	notify  *notify.Notifier
	scanner *expiry.Scanner
	// imports validates uploads (console) and runs the import job; its
	// format registry is the one place an import-format plugin registers.
	imports *imports.Service
}

func newBackground(cfg config.Config, d *db.DB, store *settings.Store) (*background, error) {
	n, err := notify.New(notify.Options{SQL: d.SQL, Settings: store, Views: views.FS, BaseURL: cfg.BaseURL})
	if err != nil {
		return nil, err
	}
	im := imports.New(imports.Options{
		DB: d.Bun, Settings: store, Queue: n.Queue, Formats: imports.NewRegistry(),
		MaxBytes:  imports.DefaultMaxBytes,
		Customers: customers.NewService(nil, n.CustomerHooks()),
		Licensing: licensing.NewService(licensing.Options{Hooks: n.LicensingHooks()}),
	})
	return &background{notify: n, scanner: expiry.NewScanner(d.Bun, n.Mailer, n.Webhooks, nil), imports: im}, nil
}

// mailTransport is the SMTP server of mail.smtp_url, or nil (the outbox)
// when none is configured.
func mailTransport(cfg config.Config) (mail.Transport, error) {
	if cfg.Mail.SMTPURL == "" {
		return nil, nil
	}
	t, err := mail.ParseSMTPURL(cfg.Mail.SMTPURL)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return t, nil
}

// startWorkers builds this node's River client with every worker and
// periodic job, and starts it. River gets its own context: on SIGTERM it is
// stopped after the HTTP server (stopWorkers), not cancelled mid-job by the
// signal.
func (b *background) startWorkers(ctx context.Context, cfg config.Config, d *db.DB, store *settings.Store, plugins *extensions.Service, logger *slog.Logger, pruners []jobs.Pruner) (*river.Client[pgx.Tx], error) {
	transport, err := mailTransport(cfg)
	if err != nil {
		return nil, err
	}
	set, err := store.Get(ctx)
	if err != nil {
		return nil, err
	}
	// Order sync: events queued by the webhook or the poll are applied
	// with the same services and hooks as the console's changes.
	processor := orders.NewProcessor(d.Bun, customers.NewService(nil, b.notify.CustomerHooks()),
		licensing.NewService(licensing.Options{Hooks: b.notify.LicensingHooks()}), b.notify.Mailer, store, nil)
	var poller *orders.Poller
	if plugins != nil {
		poller = orders.NewPoller(d.Bun, b.notify.Queue, orders.NewPlugins(plugins))
	}
	client, err := jobs.NewClient(d.Pool, jobs.Deps{
		Logger:      logger,
		Pruners:     pruners,
		DB:          d.Bun,
		Settings:    store,
		Mail:        mail.NewSender(d.Bun, transport, nil),
		Webhooks:    webhooks.NewDeliverer(d.Bun, nil, store, nil),
		Expiry:      b.scanner,
		Imports:     b.imports,
		Orders:      processor,
		OrderPoller: poller,
	}, jobs.Options{
		Workers:              cfg.Jobs.Workers,
		JobTimeout:           cfg.Jobs.Timeout,
		RescueAfter:          cfg.Jobs.RescueAfter,
		ImportTimeout:        cfg.Jobs.ImportTimeout,
		MaxRetryWait:         cfg.Jobs.MaxRetryWait,
		FinishedJobRetention: time.Duration(set.FinishedJobsRetentionDays) * 24 * time.Hour,
	})
	if err != nil {
		return nil, err
	}
	if err := client.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("start background jobs: %w", err)
	}
	return client, nil
}

// stopWorkers lets running jobs finish for up to timeout, then cancels
// them: a cancelled job is retried later, here or on another node (and a
// job of a node killed outright is rescued after jobs.Options.RescueAfter).
func stopWorkers(client *river.Client[pgx.Tx], timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := client.Stop(ctx)
	if err == nil {
		return
	}
	log.Warn("background jobs still running at the shutdown timeout; cancelling them", "err", err)
	hard, cancelHard := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelHard()
	if err := client.StopAndCancel(hard); err != nil {
		log.Warn("background jobs did not stop", "err", err)
	}
}
