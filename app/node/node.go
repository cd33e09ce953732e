// Package node is Licensor's composition root: it builds one node's
// services and their hooks, once, for `licensor serve`, the CLI commands
// and the test harness (app/server/servertest, app/server/browsertest)
// alike. Delivery packages (the console, the portal, the APIs) and the
// workers receive these services; they never construct them.
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/avatars"
	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/kvstore"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/metrics"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/outbound"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/webhooks"
	"github.com/licensor/licensor/jobs"
	"github.com/licensor/licensor/plugins/host"
	"github.com/licensor/licensor/views"
)

// Options are what a node is built from.
type Options struct {
	Config *config.Config
	DB     *db.DB
	// Secret is the instance secret: it seals the signing keys, the
	// plugins' secret settings and the two-factor secrets.
	Secret []byte
	Logger *slog.Logger
	// Now is the services' clock; nil means time.Now.
	Now func() time.Time
	// Files keeps version files; nil: the store config storage.* names.
	Files storage.Store
	// Avatars keeps the customers' thumbnails; nil: <data_dir>/avatars.
	Avatars avatars.Storage
}

// Node is one Licensor process's share of the cluster: the per-node state
// kept fresh by one LISTEN connection (settings, products, signing keys,
// the verify cache), the writers that batch the API's bookkeeping, the
// plugins, and the domain services with the hooks that queue emails and
// webhooks in each change's transaction.
type Node struct {
	Config *config.Config
	DB     *db.DB
	Logger *slog.Logger
	Now    func() time.Time
	// clock is Options.Now as given: nil in production, where the API
	// reads each request's own time (web.RequestTime) rather than the
	// clock again.
	clock func() time.Time

	Listener *pgnotify.Listener
	Settings *settings.Store
	Products *catalog.Cache
	Signing  *signing.KeyRing
	// Verifies records successful verifications in batches; Activations
	// is verify's cache of activation states.
	Verifies    *licensing.VerifyRecorder
	Activations *licensing.ActivationCache
	// Pipeline is the API's key cache, rate limiter and key-usage writer.
	Pipeline *pipeline.Shared
	// Plugins are this node's plugin processes and the admins' choices
	// for them; Captcha holds the portal's CAPTCHA providers, the CAPTCHA
	// plugins' among them.
	Plugins *plugins.Service
	Captcha *captcha.Registry

	// Outbound queues emails and webhooks and holds the change hooks.
	Outbound  *outbound.Senders
	Customers *customers.Service
	Catalog   *catalog.Service
	Licensing *licensing.Service
	Versions  *catalog.VersionService
	// Imports validates uploads and runs the import job; its format
	// registry holds the import-format plugins.
	Imports *imports.Service
	Expiry  *expiry.Scanner
	// OrderPlugins reach the order sync plugins; Orders applies their
	// events; Marketplace checks marketplace codes with them.
	OrderPlugins *orders.Plugins
	Orders       *orders.Processor
	Marketplace  *orders.Marketplace
	Limiter      *ratelimit.Limiter
	KV           *kvstore.Store
	Files        storage.Store
	Avatars      avatars.Storage
	// TwoFactor checks and changes second factors, sealed with the
	// instance secret.
	TwoFactor *twofactor.Service
	// Metrics is the node's Prometheus registry (GET /metrics).
	Metrics *metrics.Metrics

	started bool
	// unsubscribe ends the job-event subscriptions of Workers' clients.
	unsubscribe []func()
}

// Build makes sure a signing key exists (the first start creates it) and
// builds every service. It starts nothing: Start does, for a node that
// serves; the CLI's one-shot commands use the services as built.
func Build(ctx context.Context, o Options) (*Node, error) {
	if o.Config == nil || o.DB == nil {
		return nil, errors.New("node: Config and DB are required")
	}
	cfg, d := o.Config, o.DB
	n := &Node{Config: cfg, DB: d, Logger: o.Logger, Now: o.Now, clock: o.Now, Files: o.Files, Avatars: o.Avatars}
	if n.Logger == nil {
		n.Logger = slog.Default()
	}
	if n.Now == nil {
		n.Now = time.Now
	}
	log := n.Logger
	if created, err := signing.EnsureKey(ctx, d.Bun, o.Secret, n.Now()); err != nil {
		return nil, err
	} else if created {
		log.Info("signing key created")
	}

	var err error
	n.Listener = pgnotify.New(d.Pool, log)
	// A change made through this node is never answered from a cache that
	// has not heard of it yet.
	if err := n.Listener.FollowWrites(d.Writes); err != nil {
		return nil, err
	}
	if n.Settings, err = settings.NewStore(d.Bun, n.Listener); err != nil {
		return nil, err
	}
	if n.Products, err = catalog.NewCache(d.Bun, n.Listener); err != nil {
		return nil, err
	}
	if n.Activations, err = licensing.NewActivationCache(n.Listener, cfg.API.VerifyCacheSize); err != nil {
		return nil, err
	}
	if n.Signing, err = signing.Load(ctx, d.Bun, o.Secret); err != nil {
		return nil, err
	}
	if err := n.Signing.Subscribe(n.Listener, d.Bun, log); err != nil {
		return nil, err
	}
	if n.Pipeline, err = pipeline.NewShared(d.Bun, n.Listener, log); err != nil {
		return nil, err
	}
	n.Plugins = Plugins(cfg, d.Bun, o.Secret, log)
	if err := n.Plugins.Subscribe(n.Listener); err != nil {
		return nil, err
	}
	n.Verifies = licensing.NewVerifyRecorder(d.Bun, licensing.RecorderOptions{Logger: log})

	if n.Outbound, err = outbound.New(outbound.Options{SQL: d.SQL, Settings: n.Settings, Views: views.FS, BaseURL: cfg.BaseURL, Now: o.Now}); err != nil {
		return nil, err
	}
	// One service per domain, each with the hooks that tell the outside
	// world (webhooks, emails) in the transaction of the change.
	n.Customers = customers.NewService(o.Now, n.Outbound.CustomerHooks())
	n.Catalog = catalog.NewService(o.Now)
	licOpts := licensing.Options{
		Now: o.Now, Hooks: n.Outbound.LicensingHooks(), Recorder: n.Verifies, Activations: n.Activations,
		OfflineSecret: o.Secret, Products: n.Products,
		Unprepared: !cfg.Database.PreparedStatements,
	}
	if d.Replicas != nil {
		// Uncached verify reads a replica once it has this node's writes.
		licOpts.VerifyReplica = d.ReplicaAfterOwnWrites
	}
	n.Licensing = licensing.NewService(licOpts)
	if n.Files == nil {
		if n.Files, err = storage.FromConfig(cfg); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	if n.Avatars == nil {
		n.Avatars = avatars.DirStorage{Dir: filepath.Join(cfg.DataDir, "avatars")}
	}
	n.Versions = catalog.NewVersionService(d.Bun, n.Files, cfg.Uploads.MaxFileBytes, o.Now)
	n.Versions.Check = releasekeys.CheckVersion
	n.Imports = imports.New(imports.Options{
		DB: d.Bun, Reader: d.Reader(), Settings: n.Settings, Queue: n.Outbound.Queue, Formats: imports.NewRegistry(),
		Customers: n.Customers, Licensing: n.Licensing, Now: o.Now, MaxBytes: int(cfg.Uploads.MaxImportBytes),
	})
	n.Captcha = captcha.NewRegistry(d.Bun, o.Now)
	n.Expiry = expiry.NewScanner(d.Bun, n.Outbound.Mailer, n.Outbound.Webhooks, o.Now)
	// Order sync: events from webhooks, polls and marketplace codes are
	// applied with the same services and hooks as the console's changes.
	n.Orders = orders.NewProcessor(d.Bun, n.Customers, n.Licensing, n.Outbound.Mailer, n.Settings, o.Now)
	n.OrderPlugins = orders.NewPlugins(n.Plugins)
	n.Marketplace = orders.NewMarketplace(n.OrderPlugins, n.Customers, n.Licensing)
	n.Limiter = ratelimit.New(d.Bun, o.Now)
	n.KV = kvstore.New(d.Bun, "")
	n.TwoFactor = twofactor.New(o.Secret, o.Now)
	n.Metrics = newMetrics(n)
	return n, nil
}

// newMetrics is the node's registry with the collectors that read what
// the node's parts count (verify cache, plugins, pools, job queue) when
// scraped; requests, license answers and job runs are counted as they
// happen (server.Deps.Metrics, Workers).
func newMetrics(n *Node) *metrics.Metrics {
	m := metrics.New()
	m.VerifyCache(n.Activations)
	plugins := n.Plugins.Host()
	m.Plugins(func() []metrics.PluginStats {
		var out []metrics.PluginStats
		for _, p := range plugins.List() {
			out = append(out, metrics.PluginStats{
				Name: p.Name, Calls: p.Calls, Errors: p.Errors, Restarts: uint64(p.Restarts),
				Running: p.Status == host.StatusRunning,
			})
		}
		return out
	})
	m.SQLPool("primary", n.DB.SQL)
	if r := n.DB.Replicas; r != nil {
		m.SQLPool("replica", r.SQL)
		m.Gauge("replica_lag_seconds", "Each read replica's replay lag as last checked (-1: unreachable).", []string{"replica"},
			func(set func(float64, ...string)) {
				for _, s := range r.Status() {
					lag := s.Lag.Seconds()
					if s.Lag < 0 {
						lag = -1
					}
					set(lag, s.Name)
				}
			})
		m.Gauge("replica_up", "1 while a read replica is used (reachable and within database.replica_max_lag).", []string{"replica"},
			func(set func(float64, ...string)) {
				for _, s := range r.Status() {
					set(map[bool]float64{true: 1}[s.Healthy], s.Name)
				}
			})
	}
	m.PgxPool("direct", n.DB.Pool)
	m.Queue(func(ctx context.Context) ([]metrics.QueueCount, error) {
		var rows []metrics.QueueCount
		// Only the states a backlog is made of: the index on state keeps
		// this cheap however many finished jobs are retained.
		err := n.DB.Bun.NewRaw(`SELECT kind, state::text AS state, count(*) AS count FROM river_job
			WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending')
			GROUP BY kind, state`).Scan(ctx, &rows)
		return rows, err
	})
	return m
}

// Start loads the plugins (import-format plugins join the built-in CSV
// and JSON Lines, CAPTCHA plugins the built-in providers, by name),
// connects the listener that keeps the caches fresh and starts the verify
// recorder. Both run until Close, not until ctx ends: in-flight requests
// still read caches and record verifications while the server drains. A
// plugin folder or listener that fails is logged: the node runs without
// plugins rather than not at all, and the listener keeps retrying (caches
// meanwhile trust what they hold for a second only).
func (n *Node) Start(ctx context.Context) error {
	if err := n.Plugins.Start(ctx); err != nil {
		n.Logger.Error("plugins not loaded", "dir", n.Config.Plugins.Dir, "err", err)
	}
	plugins.RegisterImportFormats(n.Imports.Formats(), n.Plugins)
	if err := plugins.RegisterCaptchas(n.Captcha, n.Plugins); err != nil {
		return fmt.Errorf("node: captcha plugins: %w", err)
	}
	if err := n.Listener.Start(context.WithoutCancel(ctx)); err != nil {
		n.Logger.Warn("cache invalidation listener not connected yet", "err", err)
	}
	n.Verifies.Start(context.WithoutCancel(ctx))
	n.started = true
	return nil
}

// Close writes what the batching writers hold, closes the listener and
// kills the plugin processes. Call it after the HTTP server has stopped.
func (n *Node) Close(ctx context.Context) {
	if n.started {
		if err := n.Verifies.Close(ctx); err != nil {
			n.Logger.Warn("writing pending verifications", "err", err)
		}
	}
	if err := n.Pipeline.Close(ctx); err != nil {
		n.Logger.Warn("writing pending rate-limit counts and key use", "err", err)
	}
	for _, cancel := range n.unsubscribe {
		cancel()
	}
	n.Listener.Close()
	// No plugin process outlives the node.
	n.Plugins.Host().Close()
}

// ServerDeps are the HTTP server's dependencies: this node's services,
// and jobsUI (River's web UI) for /admin/jobs.
func (n *Node) ServerDeps(jobsUI http.Handler) server.Deps {
	return server.Deps{
		Config: n.Config, DB: n.DB, Logger: n.Logger,
		Settings: n.Settings, Products: n.Products, Signing: n.Signing, Verifies: n.Verifies,
		Activations: n.Activations, Pipeline: n.Pipeline,
		Customers: n.Customers, Catalog: n.Catalog, Licensing: n.Licensing, Versions: n.Versions,
		Imports: n.Imports, OrderPlugins: n.OrderPlugins, Marketplace: n.Marketplace, Limiter: n.Limiter,
		Outbound: n.Outbound, Expiry: n.Expiry, JobsUI: jobsUI, Plugins: n.Plugins, Captcha: n.Captcha,
		Files: n.Files, Avatars: n.Avatars, TwoFactor: n.TwoFactor, Metrics: n.Metrics,
		Now: n.clock,
	}
}

// App builds the node's HTTP app (server.New on ServerDeps).
func (n *Node) App(jobsUI http.Handler) (*fiber.App, error) {
	return server.New(n.ServerDeps(jobsUI))
}

// JobDeps are the workers' dependencies: every job kind of this node,
// sending email through transport (nil: mail stays in the outbox).
// Tests that run a few job kinds take the fields they need from it.
func (n *Node) JobDeps(transport mail.Transport, logger *slog.Logger) jobs.Deps {
	if logger == nil {
		logger = n.Logger
	}
	d := n.DB
	return jobs.Deps{
		Logger: logger,
		Pruners: []jobs.Pruner{
			{Name: "kv_store", Prune: n.KV.Prune},
			{Name: "rate_limits", Prune: func(ctx context.Context) (int64, error) {
				return n.Limiter.Prune(ctx, n.Now().Add(-24*time.Hour))
			}},
			{Name: "customer_tokens", Prune: func(ctx context.Context) (int64, error) {
				return customers.PruneTokens(ctx, d.Bun, n.Now().Add(-24*time.Hour))
			}},
			{Name: "admin_tokens", Prune: func(ctx context.Context) (int64, error) {
				return admins.PruneTokens(ctx, d.Bun, n.Now().Add(-24*time.Hour))
			}},
			{Name: "sessions", Prune: func(ctx context.Context) (int64, error) {
				set, err := n.Settings.Get(ctx)
				if err != nil {
					return 0, err
				}
				return sessions.PruneExpired(ctx, d.Bun, set)
			}},
		},
		DB:       d.Bun,
		Settings: n.Settings,
		Mail:     mail.NewSender(d.Bun, transport, n.Now),
		PasswordReset: func(ctx context.Context, email string) error {
			return d.Bun.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				cu, err := customers.ByEmail(ctx, tx, email)
				// The job is queued whether or not the address has an
				// account (jobargs.PasswordReset): none, no email.
				if errors.Is(err, customers.ErrNotFound) {
					return nil
				}
				if err != nil {
					return err
				}
				set, err := n.Settings.Get(ctx)
				if err != nil {
					return err
				}
				return n.Outbound.Mailer.PasswordReset(ctx, tx, set, cu)
			})
		},
		Webhooks:    webhooks.NewDeliverer(d.Bun, nil, n.Settings, n.Now),
		Expiry:      n.Expiry,
		Imports:     n.Imports,
		Orders:      n.Orders,
		OrderPoller: orders.NewPoller(d.Bun, n.Outbound.Queue, n.OrderPlugins, n.Now),
		ReleaseOverdue: func(ctx context.Context) (licensing.ReleaseResult, error) {
			return n.Licensing.ReleaseOverdue(ctx, d.Bun)
		},
		Now: n.Now,
	}
}

// Workers builds the node's River client with every worker and periodic
// job (JobDeps) and the configured limits; the caller starts and stops it.
func (n *Node) Workers(ctx context.Context, transport mail.Transport, logger *slog.Logger) (*river.Client[pgx.Tx], error) {
	set, err := n.Settings.Get(ctx)
	if err != nil {
		return nil, err
	}
	cfg := n.Config
	client, err := jobs.NewClient(n.DB.Pool, n.JobDeps(transport, logger), jobs.Options{
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
	n.CountJobs(client)
	return client, nil
}

// CountJobs counts the runs of client's jobs on /metrics (kind, the
// state a run left the job in, its wait in the queue) until Close.
func (n *Node) CountJobs(client *river.Client[pgx.Tx]) {
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed)
	n.unsubscribe = append(n.unsubscribe, cancel)
	go func() {
		for ev := range events {
			var wait time.Duration
			if ev.JobStats != nil {
				wait = ev.JobStats.QueueWaitDuration
			}
			n.Metrics.Job(ev.Job.Kind, string(ev.Job.State), wait)
		}
	}()
}

// Plugins is the plugins service over a host of plugins.dir: Build's, and
// the whole of what licensor plugins list needs. Close its Host when done.
func Plugins(cfg *config.Config, idb bun.IDB, secret []byte, log *slog.Logger) *plugins.Service {
	return plugins.New(idb, host.New(host.Config{
		Dir:          cfg.Plugins.Dir,
		CallTimeout:  cfg.Plugins.CallTimeout,
		ParseTimeout: 12 * cfg.Plugins.CallTimeout,
		Logger:       log,
	}), secret, log)
}

// MailTransport is the SMTP server of mail.smtp_url, or nil (the outbox)
// when none is configured.
func MailTransport(cfg *config.Config) (mail.Transport, error) {
	if cfg.Mail.SMTPURL == "" {
		return nil, nil
	}
	t, err := mail.ParseSMTPURL(cfg.Mail.SMTPURL)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return t, nil
}
