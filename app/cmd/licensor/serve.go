package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/node"
	"github.com/licensor/licensor/app/server"
	"github.com/licensor/licensor/app/web"
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
	phase := startupPhases(log)
	restoreGC := raiseGCPercent(startupGCPercent)
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
	phase("open database")
	if _, err := db.Migrate(ctx, d.DB); err != nil {
		return err
	}
	phase("migrations")
	password, created, err := admins.EnsureFirst(ctx, d.Bun, firstAdminEmail)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if created {
		// Printed once, on the first start against an empty database.
		fmt.Fprintf(c.stdout, "\nFirst admin created. Sign in at %s/admin/login with\n  email:    %s\n  password: %s\nKeep it somewhere safe: it is not shown again.\n\n",
			cfg.BaseURL, firstAdminEmail, password)
	}
	phase("first admin")

	// River reports routine producer statistics at info level; keep them
	// out of the log unless debugging.
	jobLog := log
	if cfg.Log.Level != "debug" {
		jobLog = newLogger(c.stderr, config.Log{Level: "warn", Format: cfg.Log.Format})
	}
	n, err := node.Build(ctx, node.Options{Config: &cfg, DB: d.DB, Secret: secret, Logger: log})
	if err != nil {
		return err
	}
	phase("build node")
	defer func() {
		stop, cancel := context.WithTimeout(context.Background(), cfg.HTTP.ShutdownTimeout)
		defer cancel()
		n.Close(stop)
	}()
	// River's client is made before the node starts: it reads the settings
	// Build has just loaded, where after Start (whose listener drops them
	// when it connects) it would read them again, on a second connection
	// while the plugins use the first.
	transport, err := node.MailTransport(&cfg)
	if err != nil {
		return err
	}
	river, err := n.Workers(ctx, transport, jobLog)
	if err != nil {
		return err
	}
	phase("workers")
	if err := n.Start(ctx); err != nil {
		return err
	}
	phase("start node")
	uiCtx, stopUI := context.WithCancel(context.WithoutCancel(ctx))
	defer stopUI()
	jobsUI, err := jobs.NewUI(uiCtx, river, jobLog)
	if err != nil {
		return err
	}
	phase("jobs ui")
	app, err := n.App(jobsUI)
	if err != nil {
		return err
	}
	phase("app")
	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (http.addr): %w", cfg.HTTP.Addr, err)
	}
	if cfg.Metrics.Addr != "" {
		stop, err := serveMetrics(cfg.Metrics.Addr, n.Metrics.Handler(), log)
		if err != nil {
			return err
		}
		defer stop()
	}
	served := make(chan error, 1)
	go func() {
		served <- app.Listener(web.LazyDeadlines(ln), fiber.ListenConfig{DisableStartupMessage: true})
	}()
	// The pages' templates parse on the other core while River starts.
	views := make(chan error, 1)
	go func() { views <- server.ParseViews() }()
	if err := startWorkers(ctx, river, log); err != nil {
		_ = app.ShutdownWithTimeout(cfg.HTTP.ShutdownTimeout)
		return err
	}
	if err := <-views; err != nil {
		stopWorkers(river, cfg.HTTP.ShutdownTimeout, log)
		_ = app.ShutdownWithTimeout(cfg.HTTP.ShutdownTimeout)
		return err
	}
	defer stopWorkers(river, cfg.HTTP.ShutdownTimeout, log)
	phase("start workers")
	restoreGC()
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

// serveMetrics serves /metrics alone on addr (metrics.addr), to whoever
// reaches it: bind it to an interface only Prometheus reaches. The
// returned function closes it.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (metrics.addr): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener", "err", err)
		}
	}()
	log.Info("metrics listening", "addr", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// startupPhases returns a function logging (at debug) how long each phase
// of the start-up took since the previous one.
func startupPhases(log *slog.Logger) func(name string) {
	last := time.Now()
	return func(name string) {
		now := time.Now()
		log.Debug("start-up", "phase", name, "took", now.Sub(last))
		last = now
	}
}

// startupGCPercent is GOGC while serve starts: the start-up allocates a
// few MB, which at the default of 100 takes three collections before the
// first request; the heap is small enough to let it grow until the server
// listens.
const startupGCPercent = 400

// raiseGCPercent sets GOGC to at least percent and returns the function
// that puts back the GOGC the process had.
func raiseGCPercent(percent int) (restore func()) {
	prev := debug.SetGCPercent(-1)
	debug.SetGCPercent(max(percent, prev))
	return func() { debug.SetGCPercent(prev) }
}
