// Package server builds Licensor's Fiber app from its dependencies: the
// template engine, the middleware stack and every route group. main calls
// New, then app.Listen, and app.ShutdownWithTimeout on SIGTERM.
package server

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admin"
	"github.com/licensor/licensor/app/api"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/avatars"
	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/db"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/extensions"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/kvstore"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/notify"
	"github.com/licensor/licensor/app/orderhooks"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/portal"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/releasekeys"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
	"github.com/licensor/licensor/app/web"
)

// Deps are what the HTTP server needs, built by main.
type Deps struct {
	Config *config.Config
	DB     *db.DB
	Logger *slog.Logger

	// The API's per-node state, which main builds on the node's pgnotify
	// listener and starts and stops. Any left nil is built here without a
	// listener (caches then trust what they hold for a second), for tests
	// and tools; a nil Signing is then a key made for this app alone, and
	// a nil Verifies records no verification.
	Settings *settings.Store
	Products *catalog.Cache
	Signing  *signing.KeyRing
	Verifies *licensing.VerifyRecorder
	// Activations is the node's verify cache (nil: verify reads the
	// database every time).
	Activations *licensing.ActivationCache
	Pipeline    *pipeline.Shared
	// Licensing is the service the API changes licenses with; main gives
	// it its hooks (webhooks) and Verifies. Nil: one with Notify's hooks
	// (none without Notify).
	Licensing *licensing.Service

	// Background work (product.md §11-§13), built by main: the queue of
	// emails and webhooks and their change hooks (Notify), the expiry
	// scanner of the manual cron, and River's web UI for /admin/jobs. The
	// console pages that need a missing one say so.
	Notify *notify.Notifier
	Expiry *expiry.Scanner
	JobsUI http.Handler

	// Files is where version files are kept; nil: the store config
	// storage.* names.
	Files storage.Store
	// Plugins are the node's plugins and their settings, for the console;
	// nil: the Plugins page says they are not available.
	Plugins *extensions.Service
	// MarketplaceTimeout bounds a marketplace check of the external API
	// (api.md §4.3 step 4); 0 is the spec's 10 s. Tests shorten it.
	MarketplaceTimeout time.Duration

	// Captcha holds the portal's CAPTCHA providers: main builds it and
	// registers the CAPTCHA plugins' providers on it by name. Nil: the
	// built-in math and image providers only.
	Captcha *captcha.Registry
	// Avatars stores the customers' avatar thumbnails; nil: files under
	// <data_dir>/avatars.
	Avatars avatars.Storage
	// Imports runs the console's imports and exports (main's, sharing its
	// format registry with the job worker); nil: one with the built-in
	// formats, queueing through Notify.
	Imports *imports.Service
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
		Views:             engine,
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
		web.BodyLimit(cfg.HTTP.MaxBodyBytes, bodyLimit(cfg.HTTP.MaxBodyBytes)),
		web.RejectBadText(),
	)

	app.Use("/static", staticFiles())

	if deps.Files == nil {
		if deps.Files, err = storage.FromConfig(cfg); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	versions := catalog.NewVersionService(deps.DB.Bun, deps.Files, cfg.Uploads.MaxFileBytes, nil)
	versions.Check = checkReleaseSignature

	apiDeps, err := apiDeps(deps, logger)
	if err != nil {
		return nil, err
	}
	apiDeps.Versions = versions
	if deps.Plugins != nil && deps.Notify != nil {
		orderhooks.Register(app, orderhooks.Deps{
			DB: deps.DB.Bun, Queue: deps.Notify.Queue, Plugins: orders.NewPlugins(deps.Plugins), Logger: logger,
		})
		apiDeps.MoreOperations = append(apiDeps.MoreOperations, orderhooks.Operation)
	}
	api.Register(app, apiDeps)
	imp := deps.Imports
	if imp == nil {
		imp = imports.New(importOptions(deps, apiDeps))
		// As main does for its own (app/cmd/licensor serve.go).
		if deps.Plugins != nil {
			extensions.RegisterImportFormats(imp.Formats(), deps.Plugins)
		}
	}

	adminGroup, err := adminMiddleware(cfg, deps.DB)
	if err != nil {
		return nil, err
	}
	avatarStore := deps.Avatars
	if avatarStore == nil {
		avatarStore = avatars.DirStorage{Dir: filepath.Join(cfg.DataDir, "avatars")}
	}
	admin.Register(app.Group("/admin", adminGroup...), admin.Deps{
		DB:           deps.DB.Bun,
		Limiter:      ratelimit.New(deps.DB.Bun),
		Logger:       logger,
		Settings:     apiDeps.Settings,
		Notify:       deps.Notify,
		Expiry:       deps.Expiry,
		JobsUI:       deps.JobsUI,
		Plugins:      deps.Plugins,
		MailOutbox:   cfg.Mail.SMTPURL == "",
		Signing:      deps.Signing,
		Avatars:      avatarStore,
		Imports:      imp,
		Versions:     versions,
		MaxFileBytes: cfg.Uploads.MaxFileBytes,
		BaseURL:      cfg.BaseURL,
	})

	portalGroup, err := portalMiddleware(cfg, deps.DB)
	if err != nil {
		return nil, err
	}
	portal.Register(app.Group("/customer", portalGroup...), portal.Deps{
		DB: deps.DB.Bun, Limiter: ratelimit.New(deps.DB.Bun), Logger: logger,
		Settings: apiDeps.Settings, Notify: deps.Notify,
		Licensing: apiDeps.Licensing, Signing: apiDeps.Signing,
		Captcha: deps.Captcha, Avatars: avatarStore, AvatarMaxBytes: avatarLimit(cfg),
		Files: deps.Files,
	})
	app.Get("/login", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/customer/login")
	})
	app.Get("/dashboard", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/customer/dashboard")
	})

	// The customer portal will live at the root; until then it leads to
	// the console.
	app.Get("/", func(c fiber.Ctx) error {
		return c.Redirect().Status(fiber.StatusFound).To("/admin")
	})

	return app, nil
}

// uploadPaths are the routes whose handlers stream large bodies (version
// uploads, api.md §1.2 "Size"): the internal API's version create and
// update, the legacy edit_or_create_version, and the console's upload and
// edit forms.
var uploadPaths = regexp.MustCompile(`^(/api/internal/products/[^/]+/versions(/[^/]+)?|/api(_internal)?/edit_or_create_version|/admin/products/[^/]+/versions(/[^/]+/edit)?)/?$`)

func streamedUpload(method, path string) bool {
	return method != fiber.MethodGet && method != fiber.MethodHead && method != fiber.MethodDelete && uploadPaths.MatchString(path)
}

// importUploadLimit is the body limit of the console's import upload: the
// file (imports.DefaultMaxBytes) and the form around it.
const importUploadLimit = imports.DefaultMaxBytes + 64<<10

// bodyLimit is each route's request body limit (web.BodyLimit): the
// streamed version uploads, the import upload, and def for the rest.
func bodyLimit(def int) func(method, path string) int {
	return func(method, path string) int {
		switch {
		case streamedUpload(method, path):
			return web.Streamed
		case method == fiber.MethodPost && strings.TrimSuffix(path, "/") == "/admin/imports":
			return max(importUploadLimit, def)
		}
		return def
	}
}

// checkReleaseSignature checks the signed manifest sent with a version
// upload against the stored main file and keeps it with the version
// (api.md §7.5). A new main file without a signature drops the old one;
// an edit that keeps the main file and sends no signature changes nothing.
func checkReleaseSignature(ctx context.Context, tx bun.IDB, set *settings.Values, p *catalog.Product, v *catalog.Version, mainChanged bool, in *catalog.VersionInput) error {
	sent := strings.TrimSpace(in.Signature+in.KeyID+in.Manifest) != ""
	if !mainChanged && !sent {
		return nil
	}
	main := v.File(catalog.FileMain)
	if main == nil {
		return nil
	}
	sig, err := releasekeys.CheckUpload(ctx, tx, set, in.Signature, in.KeyID, in.Manifest,
		signing.Manifest{Product: p.ReferenceID, Version: v.Version, SHA256: main.SHA256, Size: main.Size})
	if err != nil {
		return err
	}
	if sig != nil {
		return releasekeys.Save(ctx, tx, v.ID, *sig)
	}
	if mainChanged {
		return releasekeys.Remove(ctx, tx, v.ID)
	}
	return nil
}

// importOptions are those of the imports service of a server main gave
// none: built-in formats, queueing and hooks through Notify when there is
// one.
func importOptions(deps Deps, a api.Deps) imports.Options {
	o := imports.Options{DB: deps.DB.Bun, Settings: a.Settings, Licensing: a.Licensing, MaxBytes: imports.DefaultMaxBytes}
	if deps.Notify != nil {
		o.Queue = deps.Notify.Queue
		o.Customers = customersService(deps.Notify)
	}
	return o
}

// apiDeps fills in the API's per-node state main did not provide.
func apiDeps(deps Deps, logger *slog.Logger) (api.Deps, error) {
	var err error
	idb := deps.DB.Bun
	if deps.Settings == nil {
		if deps.Settings, err = settings.NewStore(idb, nil); err != nil {
			return api.Deps{}, err
		}
	}
	if deps.Products == nil {
		if deps.Products, err = catalog.NewCache(idb, nil); err != nil {
			return api.Deps{}, err
		}
	}
	if deps.Pipeline == nil {
		if deps.Pipeline, err = pipeline.NewShared(idb, nil, logger); err != nil {
			return api.Deps{}, err
		}
	}
	if deps.Licensing == nil {
		var hooks licensing.Hooks
		if deps.Notify != nil {
			hooks = deps.Notify.LicensingHooks()
		}
		deps.Licensing = licensing.NewService(licensing.Options{Recorder: deps.Verifies, Activations: deps.Activations, Hooks: hooks})
	}
	if deps.Signing == nil {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return api.Deps{}, err
		}
		if deps.Signing, err = signing.NewKeyRing(signing.NewKey(priv, time.Now())); err != nil {
			return api.Deps{}, err
		}
	}
	cs := customersService(deps.Notify)
	var marketplace *orders.Marketplace
	if deps.Plugins != nil {
		mcs := cs
		if mcs == nil {
			mcs = customers.NewService(nil, customers.Hooks{})
		}
		marketplace = orders.NewMarketplace(orders.NewPlugins(deps.Plugins), mcs, deps.Licensing)
	}
	return api.Deps{
		DB: deps.DB, Bun: idb, Logger: logger,
		Settings: deps.Settings, Products: deps.Products, Signing: deps.Signing, Pipeline: deps.Pipeline,
		Licensing:   deps.Licensing,
		Customers:   cs,
		Marketplace: marketplace, MarketplaceTimeout: deps.MarketplaceTimeout,
		MaxBodyBytes: deps.Config.HTTP.MaxBodyBytes,
		// A main file, an SQL file and the fields.
		MaxUploadBytes: 2*deps.Config.Uploads.MaxFileBytes + int64(deps.Config.HTTP.MaxBodyBytes),
		BaseURL:        deps.Config.BaseURL,
	}, nil
}

// customersService is the API's customers service, with Notify's hooks
// (customer.created, the welcome email) when there is one.
func customersService(n *notify.Notifier) *customers.Service {
	if n == nil {
		return nil
	}
	return customers.NewService(nil, n.CustomerHooks())
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
		// River's UI calls its JSON API with fetch, without the token.
		JSONPaths: []string{"/admin/jobs/api/"},
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return []any{sessions, csrf}, nil
}

// portalMiddleware is the customer portal's session and CSRF pair, apart
// from the console's: its own cookies and storage prefix.
func portalMiddleware(cfg *config.Config, d *db.DB) ([]any, error) {
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
