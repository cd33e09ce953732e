// Package admin holds the admin console's handlers (pages under /admin,
// templates under views/admin/). Every route is listed in routes.go; each
// file holds the handlers of one page or action.
package admin

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/avatars"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/outbound"
	"github.com/licensor/licensor/app/plugins"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/twofactor"
)

// Deps are what the console handlers need.
type Deps struct {
	DB bun.IDB
	// Reader serves the lists and reports that tolerate a little lag: the
	// read replicas' pool (db.DB.Reader); nil reads DB.
	Reader  bun.IDB
	Limiter *ratelimit.Limiter
	Logger  *slog.Logger
	// Login throttles sign-in; the zero value means DefaultLoginLimits.
	Login LoginLimits

	// Background work the console shows and drives: the mail outbox and
	// webhook deliveries (Outbound), the manual cron (Expiry and the
	// auto-blacklist), River's job console (JobsUI, serving /admin/jobs).
	// Pages whose dependency is nil say so instead of failing.
	Settings *settings.Store
	Outbound *outbound.Senders
	Expiry   *expiry.Scanner
	JobsUI   http.Handler
	// Plugins are the installed plugins and their settings; nil: the
	// Plugins page says plugins are not available.
	Plugins *plugins.Service
	// The node's services: customers, products and licenses changed with
	// their hooks (webhooks, emails), and imports of customers and
	// licenses validated, run and exported.
	Customers *customers.Service
	Catalog   *catalog.Service
	Licensing *licensing.Service
	Imports   *imports.Service
	// MailOutbox is true when no SMTP server is configured: mail stays in
	// the outbox.
	MailOutbox bool
	// Avatars holds the customers' avatar thumbnails, served to admins at
	// /admin/customers/{id}/avatar. Nil: that URL is 404.
	Avatars avatars.Storage
	// Now is the node's clock (pages, tokens, the manual auto-blacklist);
	// nil means time.Now.
	Now func() time.Time
	// Signing is the node's key ring: the signing keys page rotates
	// through it. Nil: the page lists the keys but cannot rotate.
	Signing *signing.KeyRing
	// Versions manages product versions and their files; MaxFileBytes is
	// its per-file bound (config uploads.max_file_bytes), shown on the form.
	Versions     *catalog.VersionService
	MaxFileBytes int64
	// BaseURL is config base_url: the order sync plugins' pages show
	// their webhook URLs on it.
	BaseURL string
	// TwoFactor checks and changes admins' second factors (sealed with the
	// instance secret).
	TwoFactor *twofactor.Service
}

// LoginLimits bound sign-in attempts in fixed windows shared by all nodes.
// Every attempt counts; a successful sign-in clears its email's count.
type LoginLimits struct {
	PerEmail int
	PerIP    int
	Window   time.Duration
}

// DefaultLoginLimits: 5 attempts per email and 20 per IP address in 15
// minutes (docs/features.md#security: rate limit and temporary lockout).
var DefaultLoginLimits = LoginLimits{PerEmail: 5, PerIP: 20, Window: 15 * time.Minute}

type handlers struct {
	avatars avatars.Storage
	db      bun.IDB
	reader  bun.IDB
	limiter *ratelimit.Limiter
	logger  *slog.Logger
	limits  LoginLimits

	settings   *settings.Store
	outbound   *outbound.Senders
	expiry     *expiry.Scanner
	mailOutbox bool
	plugins    *plugins.Service
	now        func() time.Time
	signing    *signing.KeyRing
	// customers creates, edits and deletes accounts; catalog changes
	// products; licensing changes licenses and their activations: the
	// node's services, with their hooks.
	customers *customers.Service
	catalog   *catalog.Service
	licensing *licensing.Service
	imports   *imports.Service
	versions  *catalog.VersionService
	maxFile   int64
	// maxUpload bounds a whole version upload: a main file, an SQL file
	// and the form's fields.
	maxUpload int64
	baseURL   string
	twoFactor *twofactor.Service
	// routePerms are the permissions routes.go mounted routes with.
	routePerms routePerms
}

func newHandlers(d Deps) *handlers {
	h := &handlers{
		db: d.DB, reader: d.Reader, limiter: d.Limiter, logger: d.Logger, limits: d.Login,
		settings: d.Settings, outbound: d.Outbound, expiry: d.Expiry, mailOutbox: d.MailOutbox, now: d.Now,
		signing:  d.Signing,
		plugins:  d.Plugins,
		avatars:  d.Avatars,
		baseURL:  d.BaseURL,
		versions: d.Versions, maxFile: d.MaxFileBytes, maxUpload: 2*d.MaxFileBytes + uploadMemory,
		twoFactor: d.TwoFactor,
	}
	if h.now == nil {
		h.now = time.Now
	}
	h.customers, h.catalog, h.licensing, h.imports = d.Customers, d.Catalog, d.Licensing, d.Imports
	if h.limits == (LoginLimits{}) {
		h.limits = DefaultLoginLimits
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	return h
}

// mailer returns the node's mailer, or nil when the console runs without
// one (tests of pages that send nothing).
func (h *handlers) mailer() *mail.Mailer {
	if h.outbound == nil {
		return nil
	}
	return h.outbound.Mailer
}
