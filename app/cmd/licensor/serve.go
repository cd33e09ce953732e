package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/extensions"
	"github.com/licensor/licensor/app/kvstore"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/pgnotify"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/jobs"
)

// firstAdminEmail is the sign-in of the admin created on an empty database.
const firstAdminEmail = "admin@licensor.local"

func runServe(ctx context.Context, c *cli, args []string) error {
	fs := newFlags(c, "serve", "serve [--config FILE]")
	if err := parseFlags(fs, c, args); err != nil {
		return err
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	log := newLogger(c.stderr, cfg.Log)
	if err := startPprof(c.getenv(pprofEnv)); err != nil {
		return fmt.Errorf("%s: %w", pprofEnv, err)
	}
	secret, err := instanceSecret(cfg)
	if err != nil {
		return err
	}

	d, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer d.close()
	if _, err := db.Migrate(ctx, d.DB); err != nil {
		return err
	}
	password, created, err := admins.EnsureFirst(ctx, d.Bun, firstAdminEmail)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if created {
		// Printed once, on the first start against an empty database.
		fmt.Fprintf(c.stdout, "\nFirst admin created. Sign in at %s/admin/login with\n  email:    %s\n  password: %s\nKeep it somewhere safe: it is not shown again.\n\n",
			cfg.BaseURL, firstAdminEmail, password)
	}

	kv := kvstore.New(d.Bun, "")
	limiter := ratelimit.New(d.Bun)
	// River reports routine producer statistics at info level; keep them
	// out of the log unless debugging.
	jobLog := log
	if cfg.Log.Level != "debug" {
		jobLog = newLogger(c.stderr, config.Log{Level: "warn", Format: cfg.Log.Format})
	}
	node, err := startNode(ctx, cfg, d.DB, secret, log)
	if err != nil {
		return err
	}
	defer node.stop(cfg.HTTP.ShutdownTimeout, log)

	bg, err := newBackground(cfg, d.DB, node.settings)
	if err != nil {
		return err
	}
	// Import format plugins join the built-in CSV and JSON Lines.
	extensions.RegisterImportFormats(bg.imports.Formats(), node.plugins)
	river, err := bg.startWorkers(ctx, cfg, d.DB, node.settings, node.plugins, jobLog, []jobs.Pruner{
		{Name: "kv_store", Prune: kv.Prune},
		{Name: "rate_limits", Prune: func(ctx context.Context) (int64, error) {
			return limiter.Prune(ctx, time.Now().Add(-24*time.Hour))
		}},
		{Name: "customer_tokens", Prune: func(ctx context.Context) (int64, error) {
			return customers.PruneTokens(ctx, d.Bun, time.Now().Add(-24*time.Hour))
		}},
	})
	if err != nil {
		return err
	}
	defer stopWorkers(river, cfg.HTTP.ShutdownTimeout, log)
	uiCtx, stopUI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUI()
	jobsUI, err := jobs.NewUI(uiCtx, river, jobLog)
	if err != nil {
		return err
	}

	// The portal's CAPTCHA providers: the built-in ones and every CAPTCHA
	// plugin ("plugin:<name>").
	captchas := captcha.NewRegistry(d.DB.Bun, nil)
	if err := extensions.RegisterCaptchas(captchas, node.plugins); err != nil {
		return err
	}
	app, err := server.New(server.Deps{
		Config: &cfg, DB: d.DB, Logger: log,
		Settings: node.settings, Products: node.products, Signing: node.signing,
		Verifies: node.verifies, Activations: node.activations, Pipeline: node.pipeline,
		Notify: bg.notify, Expiry: bg.scanner, JobsUI: jobsUI, Plugins: node.plugins, Captcha: captchas,
		Imports: bg.imports,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (http.addr): %w", cfg.HTTP.Addr, err)
	}
	served := make(chan error, 1)
	go func() {
		served <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}()
	log.Info("Licensor is listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "version", version)
	fmt.Fprintf(c.stdout, "Licensor %s listening on http://%s\n", version, ln.Addr().String())

	select {
	case err := <-served:
		if err != nil && !errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("http server: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests", "timeout", cfg.HTTP.ShutdownTimeout)
	if err := app.ShutdownWithTimeout(cfg.HTTP.ShutdownTimeout); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
		log.Warn("http server", "err", err)
	}
	return nil
}

// node is this process's share of the cluster state: caches kept fresh by
// one LISTEN connection, the signing keys, and the writers that batch the
// API's bookkeeping (verifications, rate-limit counts, key use).
type node struct {
	listener *pgnotify.Listener
	settings *settings.Store
	products *catalog.Cache
	signing  *signing.KeyRing
	verifies *licensing.VerifyRecorder
	// activations is verify's cache of activation states.
	activations *licensing.ActivationCache
	pipeline    *pipeline.Shared
	// plugins are this node's plugin processes and the admins' choices
	// for them.
	plugins *extensions.Service
}

// startNode makes sure a signing key exists (the first start creates it),
// subscribes every cache to the listener, starts it and the verify
// recorder.
func startNode(ctx context.Context, cfg config.Config, d *db.DB, secret []byte, log *slog.Logger) (*node, error) {
	if created, err := signing.EnsureKey(ctx, d.Bun, secret, time.Now()); err != nil {
		return nil, err
	} else if created {
		log.Info("signing key created")
	}
	n := &node{listener: pgnotify.New(d.Pool, log)}
	var err error
	if n.settings, err = settings.NewStore(d.Bun, n.listener); err != nil {
		return nil, err
	}
	if n.products, err = catalog.NewCache(d.Bun, n.listener); err != nil {
		return nil, err
	}
	if n.activations, err = licensing.NewActivationCache(n.listener, cfg.API.VerifyCacheSize); err != nil {
		return nil, err
	}
	if n.signing, err = signing.Load(ctx, d.Bun, secret); err != nil {
		return nil, err
	}
	if err := n.signing.Subscribe(n.listener, d.Bun, log); err != nil {
		return nil, err
	}
	if n.pipeline, err = pipeline.NewShared(d.Bun, n.listener, log); err != nil {
		return nil, err
	}
	n.plugins = extensions.New(d.Bun, newPluginHost(cfg, log), secret, log)
	if err := n.plugins.Subscribe(n.listener); err != nil {
		return nil, err
	}
	if err := n.plugins.Start(ctx); err != nil {
		// Licensor runs without plugins rather than not at all.
		log.Error("plugins not loaded", "dir", cfg.Plugins.Dir, "err", err)
	}
	// Both run until stop, not until the signal: in-flight requests still
	// read caches and record verifications while the server drains.
	if err := n.listener.Start(context.WithoutCancel(ctx)); err != nil {
		// The listener keeps retrying; caches meanwhile trust what they hold
		// for a second only.
		log.Warn("cache invalidation listener not connected yet", "err", err)
	}
	n.verifies = licensing.NewVerifyRecorder(d.Bun, licensing.RecorderOptions{Logger: log})
	n.verifies.Start(context.WithoutCancel(ctx))
	return n, nil
}

// stop writes what the batching writers hold, then closes the listener.
// Call it after the HTTP server has stopped.
func (n *node) stop(timeout time.Duration, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := n.verifies.Close(ctx); err != nil {
		log.Warn("writing pending verifications", "err", err)
	}
	if err := n.pipeline.Close(ctx); err != nil {
		log.Warn("writing pending rate-limit counts and key use", "err", err)
	}
	n.listener.Close()
	// No plugin process outlives the node.
	n.plugins.Host().Close()
}
