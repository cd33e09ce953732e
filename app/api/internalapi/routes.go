package internalapi

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/openapi"
	"github.com/licensor/licensor/app/api/pipeline"
)

// Register mounts the internal API on api, the /api group: the modern endpoints
// of docs/api/internal.md and the legacy calls of docs/api/legacy.md. legacy,
// when not nil, is a second prefix for the legacy calls (the /api_internal
// group). Document documents them.
func Register(api, legacy fiber.Router, deps Deps) {
	h := &handlers{
		db: deps.DB, pipeline: deps.Pipeline, baseURL: deps.BaseURL,
		versions: deps.Versions, maxUpload: deps.MaxUploadBytes,
		products: deps.Products, licenses: deps.Licenses, customers: deps.Customers, signing: deps.Signing,
		files: deps.Files,
	}
	g := h.guard

	r := api.Group("/internal")
	r.Get("/connection-check", g("connection:check", h.connectionCheck))

	r.Get("/products", g("products:list", h.listProducts))
	r.Post("/products", g("products:create", h.createProduct))
	r.Get("/products/:product", g("products:read", h.getProduct))
	r.Put("/products/:product", g("products:update", h.updateProduct))
	r.Patch("/products/:product", g("products:update", h.updateProduct))
	r.Delete("/products/:product", g("products:delete", h.deleteProduct))
	r.Post("/activated-products/:product", g("products:activate", h.activateProduct))
	r.Delete("/activated-products/:product", g("products:deactivate", h.deactivateProduct))

	r.Get("/products/:product/versions", g("versions:list", h.listVersions))
	r.Post("/products/:product/versions", g("versions:create", h.createVersion))
	r.Get("/products/:product/versions/:version", g("versions:read", h.getVersion))
	r.Post("/products/:product/versions/:version", g("versions:update", h.updateVersion))
	r.Put("/products/:product/versions/:version", g("versions:update", h.updateVersion))
	r.Patch("/products/:product/versions/:version", g("versions:update", h.updateVersion))
	r.Delete("/products/:product/versions/:version", g("versions:delete", h.deleteVersion))
	r.Post("/products/:product/download-tokens", g("versions:download", h.createDownloadToken))
	r.Post("/products/:product/download", g("versions:download", h.serverDownload))
	r.Post("/products/:product/versions/:version/download/:type", g("versions:download", h.serverDownload))

	r.Get("/product-licenses", g("licenses:list", h.listLicenses))
	r.Post("/product-licenses", g("licenses:create", h.createLicense))
	r.Get("/product-licenses/:license", g("licenses:read", h.getLicense))
	r.Get("/product-licenses/:license/file", g("licenses:read", h.licenseFile))
	r.Put("/product-licenses/:license", g("licenses:update", h.updateLicense))
	r.Patch("/product-licenses/:license", g("licenses:update", h.updateLicense))
	r.Delete("/product-licenses/:license", g("licenses:delete", h.deleteLicense))
	r.Post("/product-licenses/:license/renew", g("licenses:update", h.renewLicense))
	r.Post("/blocked-product-licenses/:license", g("licenses:block", h.blockLicense))
	r.Delete("/blocked-product-licenses/:license", g("licenses:unblock", h.unblockLicense))

	r.Get("/product-activations", g("activations:list", h.listActivations))
	r.Get("/product-activations/:activation", g("activations:read", h.getActivation))
	r.Post("/activated-product-activations/:activation", g("activations:activate", h.activateActivation))
	r.Delete("/activated-product-activations/:activation", g("activations:deactivate", h.deactivateActivation))

	r.Get("/customers", g("customers:list", h.listCustomers))
	r.Post("/customers", g("customers:create", h.createCustomer))
	r.Get("/customers/:customer", g("customers:read", h.getCustomer))
	r.Put("/customers/:customer", g("customers:update", h.updateCustomer))
	r.Patch("/customers/:customer", g("customers:update", h.updateCustomer))
	r.Delete("/customers/:customer", g("customers:delete", h.deleteCustomer))

	calls := h.legacyCalls()
	for _, prefix := range []fiber.Router{api, legacy} {
		if prefix == nil {
			continue
		}
		for _, call := range calls {
			prefix.Post("/"+call.name, g(call.scope, call.handler))
		}
	}
}

// Document adds the internal API's operations and resource schemas to docs,
// each legacy call listed on its modern twin.
func Document(docs *openapi.Registry) {
	// The call table's handlers are method values of a nil *handlers: only
	// their names, scopes and twins are read here, never called.
	document(docs, (*handlers)(nil).legacyCalls())
	documentDownloadTokens(docs)
}

// legacyCall is one legacy internal call (docs/api/legacy.md): POST /api/<name>
// and /api_internal/<name>, with its scope, and twin, the operationId of
// the modern endpoint whose OpenAPI entry lists its paths.
type legacyCall struct {
	name, scope, twin string
	handler           pipeline.Handler
}

func (h *handlers) legacyCalls() []legacyCall {
	return []legacyCall{
		{"check_connection_int", "connection:check", "internalConnectionCheck", h.legacyCheckConnection},
		{"add_product", "products:create", "createProduct", h.legacyAddProduct},
		{"get_product", "products:read", "getProduct", h.legacyGetProduct},
		{"get_products", "products:list", "listProducts", h.legacyGetProducts},
		{"mark_product_active", "products:activate", "activateProduct", h.legacyMarkProductActive},
		{"mark_product_inactive", "products:deactivate", "deactivateProduct", h.legacyMarkProductInactive},
		{"edit_or_create_version", "versions:create", "createVersion", h.legacyEditOrCreateVersion},
		{"create_license", "licenses:create", "createLicense", h.legacyCreateLicense},
		{"edit_license", "licenses:update", "updateLicense", h.legacyEditLicense},
		{"get_license", "licenses:read", "getLicense", h.legacyGetLicense},
		{"search_license", "licenses:list", "listLicenses", h.legacySearchLicense},
		{"delete_license", "licenses:delete", "deleteLicense", h.legacyDeleteLicense},
		{"block_license", "licenses:block", "blockLicense", h.legacyBlockLicense},
		{"unblock_license", "licenses:unblock", "unblockLicense", h.legacyUnblockLicense},
		{"deactivate_license_activations", "activations:deactivate", "deactivateActivation", h.legacyDeactivateLicenseActivations},
	}
}
