// Package server builds Licensor's Fiber app from its dependencies: the
// template engine, the middleware stack and every route group. main calls
// New, then app.Listen, and app.ShutdownWithTimeout on SIGTERM.
package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admin"
	"github.com/licensor/licensor/app/api"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/api/storewebhooks"
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
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/app/portal"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// Deps are what the HTTP server needs: the node's services, built once by
// the composition root (app/node) and passed down. New builds none of them.
type Deps struct {
	Config *config.Config
	DB     *db.DB
	Logger *slog.Logger

	// The API's per-node state on the node's pgnotify listener.
	Settings *settings.Store
	Products *catalog.Cache
	Signing  *signing.KeyRing
	Verifies *licensing.VerifyRecorder
	// Activations is the node's verify cache.
	Activations *licensing.ActivationCache
	Pipeline    *pipeline.Shared

	// The domain services, with their hooks (webhooks, emails).
	Customers *customers.Service
	Catalog   *catalog.Service
	Licensing *licensing.Service
	Versions  *catalog.VersionService
	// Imports runs the console's imports and exports (sharing its format
	// registry with the job worker).
	Imports *imports.Service
	// OrderPlugins receive the stores' webhooks; Marketplace checks
	// marketplace codes with the order sync plugins.
	OrderPlugins *orders.Plugins
	Marketplace  *orders.Marketplace
	// Limiter counts sign-in and form attempts (console and portal).
	Limiter *ratelimit.Limiter

	// Background work (docs/features.md#emails, docs/api/webhooks.md,
	// docs/features.md#logs-and-retention): the queue of emails and
	// webhooks and their change hooks (Outbound), the expiry scanner of the
	// manual cron, and River's web UI for /admin/jobs.
	Outbound *outbound.Senders
	Expiry   *expiry.Scanner
	JobsUI   http.Handler

	// Files is where version files are kept.
	Files storage.Store
	// Plugins are the node's plugins and their settings, for the console
	// and the order-sync webhooks.
	Plugins *plugins.Service

	// Captcha holds the portal's CAPTCHA providers (built-in and plugins).
	Captcha *captcha.Registry
	// Avatars stores the customers' avatar thumbnails.
	Avatars avatars.Storage
	// TwoFactor checks and changes admins' and customers' second factors,
	// sealed with the instance secret.
	TwoFactor *twofactor.Service
	// Metrics is the node's Prometheus registry (nil: no /metrics).
	Metrics *metrics.Metrics
	// Now is the node's clock (node.Options.Now) for the console, the
	// portal and the API's request pipeline, whose rate limits, key
	// expiry and key use it dates; nil: the real clock, which the API
	// reads once per request (web.RequestTime).
	Now func() time.Time
}

// check reports the first dependency missing: the composition root gives
// them all.
func (d Deps) check() error {
	missing := map[string]bool{
		"Config": d.Config == nil, "DB": d.DB == nil, "Settings": d.Settings == nil, "Products": d.Products == nil,
		"Signing": d.Signing == nil, "Pipeline": d.Pipeline == nil, "Customers": d.Customers == nil,
		"Catalog": d.Catalog == nil, "Licensing": d.Licensing == nil, "Versions": d.Versions == nil,
		"Imports": d.Imports == nil, "OrderPlugins": d.OrderPlugins == nil, "Marketplace": d.Marketplace == nil, "Limiter": d.Limiter == nil, "Outbound": d.Outbound == nil, "Expiry": d.Expiry == nil,
		"Files": d.Files == nil, "Plugins": d.Plugins == nil, "Captcha": d.Captcha == nil, "Avatars": d.Avatars == nil, "TwoFactor": d.TwoFactor == nil,
	}
	var names []string
	for name, gone := range missing {
		if gone {
			names = append(names, name)
		}
	}
	if len(names) > 0 {
		sort.Strings(names)
		return fmt.Errorf("server: missing dependencies %s (app/node builds them)", strings.Join(names, ", "))
	}
	return nil
}

// avatarLimit is the largest avatar upload: uploads.max_avatar_bytes, kept
// under the request body limit (less room for the form's other fields) so
// a too-large picture is answered on the form, not by the server's 413.
func avatarLimit(cfg *config.Config) int64 {
	limit := cfg.Uploads.MaxAvatarBytes
	if body := int64(cfg.HTTP.MaxBodyBytes) - 64<<10; body > 0 && body < limit {
		limit = body
	}
	return limit
}

// Cookie names and lifetimes of the admin console.
const (
	AdminSessionCookie = "licensor_admin_session"
	AdminCSRFCookie    = "licensor_admin_csrf"
	AdminSessionIdle   = 720 * time.Minute
)

// Cookie names of the customer portal, and the idle timeout of a session
// not "remembered" (a remembered one lasts customer_session_lifetime).
const (
	PortalSessionCookie = "licensor_customer_session"
	PortalCSRFCookie    = "licensor_customer_csrf"
	PortalSessionIdle   = 120 * time.Minute
)

// idleTimeout closes idle keep-alive connections, which also lets
// ShutdownWithTimeout finish instead of waiting on them.
const idleTimeout = 75 * time.Second

// New builds the app. It starts nothing: the caller listens and shuts down.
func New(deps Deps) (*fiber.App, error) {
	if err := deps.check(); err != nil {
		return nil, err
	}
	cfg := deps.Config
	logger := deps.Logger
	if logger == nil {
		logger = slog.Default()
	}

	clientIPs, err := web.ClientIPs(cfg.HTTP.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	app := fiber.New(fiber.Config{
		BodyLimit: cfg.HTTP.MaxBodyBytes,
		// Multipart bodies are parsed by the handlers that read them. Parsed
		// while the request is read, a broken one fails before routing, with
		// the request already reset, and could not get the API's JSON answer.
		DisablePreParseMultipartForm: true,
		// A body over BodyLimit reaches the app as a stream: the version
		// uploads read it to disk, web.BodyLimit refuses it everywhere else.
		StreamRequestBody: true,
		ReadTimeout:       cfg.HTTP.ReadTimeout,
		WriteTimeout:      cfg.HTTP.WriteTimeout,
		IdleTimeout:       idleTimeout,
		TrustProxy:        len(cfg.HTTP.TrustedProxies) > 0,
		TrustProxyConfig:  web.TrustProxyConfig(cfg.HTTP.TrustedProxies),
		ErrorHandler:      web.ErrorHandler(),
		JSONEncoder:       web.JSONEncoder,
		Views:             parsedViews{},
	})
	// A refused body's rest is never taken for the next request, and its
	// answer reaches the client still sending it.
	web.CloseUnreadBodies(app)

	// Order matters: the request ID first so every log line has it; the
	// logger around everything else so it sees the final status (it runs
	// the error handler); recovery inside the logger so a panic becomes a
	// logged 500 page.
	app.Use(web.RequestID())
	if deps.Metrics != nil {
		app.Use(web.Metrics(deps.Metrics))
		if cfg.Metrics.Addr == "" {
			// Otherwise served on a listener of its own (cmd serve).
			serve, err := web.MetricsEndpoint(cfg.Metrics.Allow, deps.Metrics.Handler())
			if err != nil {
				return nil, fmt.Errorf("server: metrics.allow: %w", err)
			}
			app.Get("/metrics", serve)
		}
	}
	if deps.DB.Replicas != nil {
		// Reads go to replicas, but never a browser's right after its
		// change. The API's replica reads (update checks) have no session
		// to follow.
		ryw := web.ReadYourWrites(2*cfg.Database.ReplicaMaxLag, cfg.SecureCookiesEnabled())
		app.Use("/admin", ryw)
		app.Use("/customer", ryw)
	}
	app.Use(
		clientIPs,
		web.RequestLogger(app, logger, secretPaths, "/api/health-check"),
		web.Recover(logger),
		web.SecurityHeaders(strings.HasPrefix(cfg.BaseURL, "https://")),
		web.BodyLimit(bodyRules(cfg)),
		web.RejectBadText(),
	)

	app.Use("/static", staticFiles())

	// The read replicas' pool, for the reads that tolerate a little lag
	// (docs/deploy.md#read-replicas); nil without replicas.
	var reader bun.IDB
	if deps.DB.Replicas != nil {
		reader = deps.DB.Reader()
	}
	apiDeps := api.Deps{
		DB: deps.DB, Bun: deps.DB.Bun, Reader: reader, Logger: logger,
		Settings: deps.Settings, Products: deps.Products, Signing: deps.Signing, Pipeline: deps.Pipeline,
		Licensing: deps.Licensing, Customers: deps.Customers, Catalog: deps.Catalog, Versions: deps.Versions,
		Marketplace:  deps.Marketplace,
		MaxBodyBytes: cfg.HTTP.MaxBodyBytes, Metrics: deps.Metrics, Now: deps.Now,
		// A main file, an SQL file and the fields.
		MaxUploadBytes: 2*cfg.Uploads.MaxFileBytes + int64(cfg.HTTP.MaxBodyBytes),
		BaseURL:        cfg.BaseURL,
	}
	storewebhooks.Register(app, storewebhooks.Deps{
		DB: deps.DB.Bun, Queue: deps.Outbound.Queue, Plugins: deps.OrderPlugins, Logger: logger,
	})
	apiDeps.MoreOperations = append(apiDeps.MoreOperations, storewebhooks.Operation)
	api.Register(app, apiDeps)

	adminGroup, err := AdminMiddleware(cfg, deps.DB)
	if err != nil {
		return nil, err
	}
	admin.Register(app.Group("/admin", adminGroup...), admin.Deps{
		DB:           deps.DB.Bun,
		Reader:       reader,
		Limiter:      deps.Limiter,
		Logger:       logger,
		Settings:     deps.Settings,
		Outbound:     deps.Outbound,
		Expiry:       deps.Expiry,
		JobsUI:       deps.JobsUI,
		Plugins:      deps.Plugins,
		MailOutbox:   cfg.Mail.SMTPURL == "",
		Signing:      deps.Signing,
		Avatars:      deps.Avatars,
		Customers:    deps.Customers,
		Catalog:      deps.Catalog,
		Licensing:    deps.Licensing,
		Imports:      deps.Imports,
		Versions:     deps.Versions,
		MaxFileBytes: cfg.Uploads.MaxFileBytes,
		BaseURL:      cfg.BaseURL,
		TwoFactor:    deps.TwoFactor,
		Now:          deps.Now,
	})

	portalGroup, err := PortalMiddleware(cfg, deps.DB)
	if err != nil {
		return nil, err
	}
	portal.Register(app.Group("/customer", portalGroup...), portal.Deps{
		DB: deps.DB.Bun, Reader: reader, Limiter: deps.Limiter, Logger: logger,
		Settings: deps.Settings, Outbound: deps.Outbound,
		Customers: deps.Customers, Licensing: deps.Licensing, Signing: deps.Signing,
		Captcha: deps.Captcha, Avatars: deps.Avatars, AvatarMaxBytes: avatarLimit(cfg),
		Files: deps.Files, TwoFactor: deps.TwoFactor, Now: deps.Now,
	})
	app.Get("/login", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/customer/login")
	})
	app.Get("/dashboard", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/customer/dashboard")
	})

	// The root leads to the console; the portal lives under /customer
	// (with /login and /dashboard above as its short forms).
	app.Get("/", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/admin")
	})

	return app, nil
}

// secretPaths masks in the request log the tokens and secrets that routes
// carry in their paths (docs/deploy.md#secrets-in-urls): portal and console
// email links, download links and store webhook secrets.
var secretPaths = web.SecretPaths(
	mail.PathEmailVerify+"/{secret}",
	mail.PathPasswordReset+"/{secret}",
	mail.PathAdminInvitation+"/{secret}",
	mail.PathAdminPasswordReset+"/{secret}",
	mail.PathAdminEmailConfirm+"/{secret}",
	"/api/download/{secret}",
	"/api/external/webhooks/*/{secret}",
)

// uploadPaths are the routes whose handlers stream large bodies (version
// uploads, docs/api/conventions.md#requests "Size"): the internal API's version create and
// update, the legacy edit_or_create_version, and the console's upload and
// edit forms.
var uploadPaths = regexp.MustCompile(`^(/api/internal/products/[^/]+/versions(/[^/]+)?|/api(_internal)?/edit_or_create_version|/admin/products/[^/]+/versions(/[^/]+/edit)?)/?$`)

// streamedUpload runs for every request with a body (web.BodyLimit), so the
// regular expression runs only for paths holding "version", as each of its
// matches does: a verify's path is refused by a substring search, not the
// expression's backtracker (about 0.6 µs a request, docs/benchmarks.md).
func streamedUpload(method, path string) bool {
	return method != fiber.MethodGet && method != fiber.MethodHead && method != fiber.MethodDelete &&
		strings.Contains(path, "version") && uploadPaths.MatchString(path)
}

// bodyRules are each route's request body rule (web.BodyLimit): the
// streamed version uploads, the import upload, the avatars, and def for
// the rest. The console's and the portal's uploads are read only once
// their session is signed in (web.ReadBody, after requireAdmin and
// requireCustomer: docs/deploy.md#uploads-before-sign-in).
func bodyRules(cfg *config.Config) func(method, path string) web.BodyRule {
	def := cfg.HTTP.MaxBodyBytes
	avatar := max(int(avatarLimit(cfg))+64<<10, def)
	// The import file (uploads.max_import_bytes) and the form around it.
	importLimit := int(cfg.Uploads.MaxImportBytes) + 64<<10
	return func(method, path string) web.BodyRule {
		console := strings.HasPrefix(path, "/admin/")
		switch {
		case streamedUpload(method, path):
			return web.BodyRule{Max: web.Streamed, SignedIn: console}
		case method != fiber.MethodPost:
			return web.BodyRule{Max: def}
		}
		switch strings.TrimSuffix(path, "/") {
		case "/admin/imports":
			return web.BodyRule{Max: max(importLimit, def), SignedIn: true}
		case "/admin/account/avatar", "/customer/settings/avatar":
			return web.BodyRule{Max: avatar, SignedIn: true}
		case "/admin/offline-activation", "/admin/offline-activation/release",
			"/customer/offline-activation", "/customer/offline-activation/release":
			return web.BodyRule{Max: def, SignedIn: true}
		}
		return web.BodyRule{Max: def}
	}
}

// AdminMiddleware is the session and CSRF pair of the console, with state
// in PostgreSQL so every node shares it (and so the test harness can start
// a session on it directly, servertest.SignIn).
func AdminMiddleware(cfg *config.Config, d *db.DB) ([]any, error) {
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
		// River's UI calls its JSON API with fetch, without the token.
		JSONPaths: []string{"/admin/jobs/api/"},
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return []any{sessions, csrf}, nil
}

// PortalMiddleware is the customer portal's session and CSRF pair, apart
// from the console's: its own cookies and storage prefix.
func PortalMiddleware(cfg *config.Config, d *db.DB) ([]any, error) {
	secure := cfg.SecureCookiesEnabled()
	sessions, store := web.Sessions(web.SessionConfig{
		Storage:     kvstore.New(d.Bun, "customer-session:"),
		CookieName:  PortalSessionCookie,
		Secure:      secure,
		IdleTimeout: PortalSessionIdle,
	})
	csrf, err := web.CSRF(web.CSRFConfig{
		Sessions:    store,
		CookieName:  PortalCSRFCookie,
		Secure:      secure,
		IdleTimeout: PortalSessionIdle,
		BaseURL:     cfg.BaseURL,
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return []any{sessions, csrf}, nil
}
