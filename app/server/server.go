// Package server builds Licensor's Fiber app from its dependencies: the
// template engine, the middleware stack and every route group. main calls
// New, then app.Listen, and app.ShutdownWithTimeout on SIGTERM.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admin"
	"github.com/licensor/licensor/app/api"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/kvstore"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/web"
)

// Deps are what the HTTP server needs, built by main.
type Deps struct {
	Config *config.Config
	DB     *db.DB
	Logger *slog.Logger
}

// Cookie names and lifetimes of the admin console.
const (
	AdminSessionCookie = "licensor_admin_session"
	AdminCSRFCookie    = "licensor_admin_csrf"
	AdminSessionIdle   = 720 * time.Minute
)

// idleTimeout closes idle keep-alive connections, which also lets
// ShutdownWithTimeout finish instead of waiting on them.
const idleTimeout = 75 * time.Second

// New builds the app. It starts nothing: the caller listens and shuts down.
func New(deps Deps) (*fiber.App, error) {
	if deps.Config == nil || deps.DB == nil {
		return nil, errors.New("server: Config and DB are required")
	}
	cfg := deps.Config
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}

	engine, err := newViews()
	if err != nil {
		return nil, err
	}
	clientIPs, err := web.ClientIPs(cfg.HTTP.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	app := fiber.New(fiber.Config{
		BodyLimit:        cfg.HTTP.MaxBodyBytes,
		ReadTimeout:      cfg.HTTP.ReadTimeout,
		WriteTimeout:     cfg.HTTP.WriteTimeout,
		IdleTimeout:      idleTimeout,
		TrustProxy:       len(cfg.HTTP.TrustedProxies) > 0,
		TrustProxyConfig: web.TrustProxyConfig(cfg.HTTP.TrustedProxies),
		ErrorHandler:     web.ErrorHandler(),
		JSONEncoder:      web.JSONEncoder,
		Views:            engine,
	})

	// Order matters: the request ID first so every log line has it; the
	// logger around everything else so it sees the final status (it runs
	// the error handler); recovery inside the logger so a panic becomes a
	// logged 500 page.
	app.Use(
		web.RequestID(),
		clientIPs,
		web.RequestLogger(logger, "/api/health-check"),
		web.Recover(logger),
		web.SecurityHeaders(strings.HasPrefix(cfg.BaseURL, "https://")),
	)

	app.Use("/static", staticFiles())

	api.Register(app.Group("/api"), api.Deps{DB: deps.DB, Logger: logger})

	adminGroup, err := adminMiddleware(cfg, deps.DB)
	if err != nil {
		return nil, err
	}
	admin.Register(app.Group("/admin", adminGroup...), admin.Deps{
		DB:      deps.DB.Bun,
		Limiter: ratelimit.New(deps.DB.Bun),
		Logger:  logger,
	})

	// The customer portal will live at the root; until then it leads to
	// the console.
	app.Get("/", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/admin")
	})

	return app, nil
}

// adminMiddleware is the session and CSRF pair of the console, with state in
// PostgreSQL so every node shares it.
func adminMiddleware(cfg *config.Config, d *db.DB) ([]any, error) {
	secure := cfg.SecureCookiesEnabled()
	sessions, store := web.Sessions(web.SessionConfig{
		Storage:     kvstore.New(d.Bun, "admin-session:"),
		CookieName:  AdminSessionCookie,
		Secure:      secure,
		IdleTimeout: AdminSessionIdle,
	})
	csrf, err := web.CSRF(web.CSRFConfig{
		Sessions:    store,
		CookieName:  AdminCSRFCookie,
		Secure:      secure,
		IdleTimeout: AdminSessionIdle,
		BaseURL:     cfg.BaseURL,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return []any{sessions, csrf}, nil
}
