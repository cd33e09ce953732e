// Package portal holds the customer portal's handlers (pages under
// /customer, templates under views/portal/). Every route is listed in
// routes.go; each file holds the handlers of one page or action.
//
// Portal sessions are separate from admin sessions: their own cookie, CSRF
// cookie and storage prefix (server.go builds the pair). Each session holds
// the customer's id and the customer's session epoch at sign-in; a password
// reset raises the epoch, which ends every other session of the customer.
package portal

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/avatars"
	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/outbound"
	"github.com/licensor/licensor/app/ratelimit"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// Deps are what the portal handlers need.
type Deps struct {
	DB bun.IDB
	// Reader serves the pages that only show the customer's licenses and
	// activations, which tolerate a little lag: the read replicas
	// (db.DB.Reader, docs/deploy.md#read-replicas); nil reads DB.
	Reader   bun.IDB
	Limiter  *ratelimit.Limiter
	Logger   *slog.Logger
	Settings *settings.Store
	// Outbound queues the portal's emails (confirmation, reset, new-device
	// alert) and the customer.created webhook. Nil: no email is sent (a
	// warning is logged), for tools and tests that do not need them.
	Outbound *outbound.Senders
	// Customers registers and changes accounts (the node's service, with
	// its hooks); Licensing frees activations the customer deactivates;
	// Signing signs the license files they download.
	Customers *customers.Service
	Licensing *licensing.Service
	Signing   *signing.KeyRing
	// Captcha holds the CAPTCHA providers (built-in and plugins).
	Captcha *captcha.Registry
	// Avatars stores the customers' thumbnails, at most AvatarMaxBytes
	// uploaded (0: avatars.DefaultMaxBytes).
	Avatars        avatars.Storage
	AvatarMaxBytes int64
	// Files holds the version files customers download; nil: downloads fail.
	Files storage.Store
	// Now is the clock of tokens and the sign-in history; nil means time.Now.
	Now func() time.Time
	// TwoFactor checks and changes customers' second factors.
	TwoFactor *twofactor.Service
}

type handlers struct {
	db        bun.IDB
	reader    bun.IDB
	limiter   *ratelimit.Limiter
	logger    *slog.Logger
	settings  *settings.Store
	outbound  *outbound.Senders
	now       func() time.Time
	customers *customers.Service
	licensing *licensing.Service
	signing   *signing.KeyRing
	captcha   *captcha.Registry
	avatars   avatars.Storage
	avatarMax int64
	files     storage.Store
	twoFactor *twofactor.Service
}

func newHandlers(d Deps) *handlers {
	h := &handlers{db: d.DB, reader: d.Reader, limiter: d.Limiter, logger: d.Logger, settings: d.Settings, outbound: d.Outbound, now: d.Now,
		customers: d.Customers, licensing: d.Licensing, signing: d.Signing, captcha: d.Captcha, files: d.Files, twoFactor: d.TwoFactor}
	if h.now == nil {
		h.now = time.Now
	}
	if h.logger == nil {
		h.logger = slog.Default()
	}
	h.avatars, h.avatarMax = d.Avatars, d.AvatarMaxBytes
	if h.avatarMax <= 0 {
		h.avatarMax = avatars.DefaultMaxBytes
	}
	return h
}

// read is the handle of a page that only shows the customer's licenses
// and activations: the read replicas (docs/deploy.md#read-replicas),
// unless this browser changed something a moment ago (web.RecentWrite) and
// must see it. Sessions, the account and security pages, and everything
// that writes read the primary (h.db).
func (h *handlers) read(c fiber.Ctx) bun.IDB {
	if h.reader == nil || web.RecentWrite(c) {
		return h.db
	}
	return h.reader
}

// mailer returns the mailer, or nil (logged) when the portal has none.
func (h *handlers) mailer(ctx context.Context) *mail.Mailer {
	if h.outbound == nil || h.outbound.Mailer == nil {
		h.logger.WarnContext(ctx, "portal: no mailer configured, email not sent")
		return nil
	}
	return h.outbound.Mailer
}

// source is who the activity log names for a portal change: the customer
// (when known) from the client IP.
func source(c fiber.Ctx, cu *customers.Customer) audit.Source {
	src := audit.Source{Actor: audit.Actor{Type: audit.ActorCustomer}, IP: web.ClientIP(c)}
	if cu != nil {
		src.Actor.ID, src.Actor.Name = &cu.ID, cu.Name
	}
	return src
}
