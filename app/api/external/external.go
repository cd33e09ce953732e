// Package external is the external API (docs/api/external.md): the endpoints that
// software installed at the vendor's customers calls — connection check,
// activate, verify, deactivate, license check, update check, latest
// version, download and size, download links — on their modern paths and
// their LicenseBox-era aliases, plus the public signing keys. Every route
// is in routes.go; every keyed route runs the request pipeline of package
// pipeline first.
package external

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/api/signature"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/metrics"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
)

// Deps are what the external handlers need.
type Deps struct {
	DB bun.IDB
	// Reader serves update check, latest version and download size: reads
	// that tolerate a little lag, from the read replicas when configured
	// (docs/deploy.md#read-replicas); nil: DB.
	Reader    bun.IDB
	Pipeline  *pipeline.Pipeline
	Products  *catalog.Cache
	Licensing *licensing.Service
	Signing   *signing.KeyRing
	// Files is where version files are kept (the update downloads).
	Files  storage.Store
	Logger *slog.Logger
	// Now is the clock of download links' expiry; nil is time.Now.
	Now func() time.Time
	// Marketplace verifies codes unknown locally with the order sync plugin
	// serving the request's verify_type (docs/api/external.md#activate step 4,
	// docs/api/external.md#license-check); nil: no plugins.
	Marketplace *orders.Marketplace
	// Signer signs every answer of the external routes
	// (docs/api/verifying.md#signed-responses); nil: none is signed.
	Signer *signature.Signer
	// Metrics counts the license operations' answers; nil: none.
	Metrics *metrics.Metrics
}

type handlers struct {
	Deps
	tokens *tokenChecker
}

// reader is the handle of the update endpoints' reads (Deps.Reader).
// They read no row the same caller writes through the external API, and
// the version an update check names is on the primary too (a replica is
// behind it, never ahead), so the download that follows finds it.
func (h *handlers) reader() bun.IDB {
	if h.Reader != nil {
		return h.Reader
	}
	return h.DB
}

func (h *handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// legacy says which family of paths a handler answers on: the LicenseBox-era
// aliases (/api/activate_license, /api/check_update, …) or the modern ones.
// LicenseBox-era clients test only "status" and treat any other HTTP status
// than 200 as "Server returned an invalid response", so on their paths a
// request that found nothing (unknown product, no license, no update) is a
// 200 with status false, as LicenseBox answered it (docs/api/legacy.md).
type legacy bool

const (
	modernPaths legacy = false
	legacyPaths legacy = true
)

// status is the HTTP status of a "nothing found" failure: 400 and 404 are
// 200 on the legacy paths. Errors (500, 503) keep theirs everywhere.
func (l legacy) status(s int) int {
	if l && (s == fiber.StatusBadRequest || s == fiber.StatusNotFound) {
		return fiber.StatusOK
	}
	return s
}
