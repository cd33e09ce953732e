// Package external is the external API (api.md §4): the endpoints that
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

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
)

// Deps are what the external handlers need.
type Deps struct {
	DB        bun.IDB
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
	// serving the request's verify_type (§4.3 step 4, §4.6); nil: no
	// plugins.
	Marketplace *orders.Marketplace
	// MarketplaceTimeout bounds one such check; 0 is 10 s.
	MarketplaceTimeout time.Duration
}

type handlers struct {
	Deps
	tokens *tokenChecker
}

func (h *handlers) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}
