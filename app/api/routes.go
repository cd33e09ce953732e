package api

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/external"
	"github.com/licensor/licensor/app/api/internalapi"
	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/api/signature"
)

// Register mounts every API route on app: the /api group and the legacy
// /api_internal group. Each group package lists its own routes and adds
// its operations to the OpenAPI document.
func Register(app fiber.Router, deps Deps) {
	h := &handlers{deps: deps}
	api := app.Group("/api")
	externalPipeline := deps.pipeline(pipeline.External)

	api.Get("/health-check", h.healthCheck)
	api.Get("/openapi.json", externalPipeline.Public(openapi.Serve(func() *openapi.Registry {
		return Document(deps.MoreOperations...)
	})))

	external.Register(api, external.Deps{
		DB: deps.Bun, Reader: deps.Reader, Pipeline: externalPipeline, Products: deps.Products,
		Licensing: deps.Licensing, Signing: deps.Signing, Files: deps.files(), Logger: deps.Logger,
		Marketplace: deps.Marketplace,
		Signer:      signature.New(signature.Options{Ring: deps.Signing, Settings: deps.Settings, Logger: deps.Logger}),
		Metrics:     deps.Metrics,
	})
	internalapi.Register(api, app.Group("/api_internal"), internalapi.Deps{DB: deps.Bun, Pipeline: deps.pipeline(pipeline.Internal), Products: deps.Catalog, Licenses: deps.Licensing, Customers: deps.Customers, Signing: deps.Signing, Files: deps.files(), BaseURL: deps.BaseURL,
		Versions: deps.Versions, MaxUploadBytes: deps.MaxUploadBytes})
}
