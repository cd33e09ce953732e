// Package api holds Licensor's JSON API: the public health check and
// OpenAPI document here, the external API in external/, the internal API
// in internalapi/, and the request pipeline they share in pipeline/.
// Every group is mounted in routes.go.
package api

import (
	"context"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/metrics"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/storage"
)

// Pinger is the database check the health endpoint needs (*db.DB has it).
type Pinger interface {
	Ping(ctx context.Context) error
}

// Deps are what the API handlers need, built by server.New.
type Deps struct {
	DB  Pinger
	Bun bun.IDB
	// Reader serves the update checks, latest version and download size,
	// which tolerate a little lag: the read replicas (db.DB.Reader,
	// docs/deploy.md#read-replicas); nil: Bun.
	Reader bun.IDB
	Logger *slog.Logger

	Settings  *settings.Store
	Products  *catalog.Cache
	Licensing *licensing.Service
	// Customers creates customers with the node's hooks (customer.created,
	// the welcome email); Catalog changes products.
	Customers *customers.Service
	Catalog   *catalog.Service
	// Versions changes versions and keeps their files (Versions.Store()).
	Versions *catalog.VersionService
	Signing  *signing.KeyRing
	// Pipeline is the node's key cache, rate limiter and key-usage
	// recorder, shared by the external and internal groups.
	Pipeline *pipeline.Shared
	// MaxBodyBytes bounds request bodies (config http.max_body_bytes).
	MaxBodyBytes int
	// MaxUploadBytes bounds a version upload's body (its files and fields).
	MaxUploadBytes int64
	// BaseURL is Licensor's public address (config base_url).
	BaseURL string
	// Marketplace verifies marketplace codes with order sync plugins on
	// first activation and in the license check; nil: no plugins.
	Marketplace *orders.Marketplace
	// Metrics counts the external API's license operations; nil: none.
	Metrics *metrics.Metrics
	// Now is the pipeline's clock; nil: each request's time
	// (web.RequestTime).
	Now func() time.Time
	// MoreOperations document API routes other packages mount under /api
	// (the order-sync webhooks), so the OpenAPI document lists every route.
	MoreOperations []openapi.Operation
}

// files is where version files are kept, nil without a version service.
func (d Deps) files() storage.Store {
	if d.Versions == nil {
		return nil
	}
	return d.Versions.Store()
}

// pipeline returns the request pipeline of an endpoint group.
func (d Deps) pipeline(group pipeline.Group) *pipeline.Pipeline {
	return pipeline.New(group, pipeline.Deps{
		Settings: d.Settings, Shared: d.Pipeline, MaxBodyBytes: d.MaxBodyBytes, Logger: d.Logger, Now: d.Now,
	})
}

type handlers struct {
	deps Deps
}
