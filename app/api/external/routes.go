package external

import (
	"log/slog"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/openapi"
)

// Scopes of the external endpoints (api.md §2.4, §4).
const (
	scopeConnection = "connection:check"
	scopeActivate   = "license:activate"
	scopeVerify     = "license:verify"
	scopeDeactivate = "license:deactivate"
	scopeCheck      = "license:check"
)

// Register mounts the external API on router, the /api group, and adds its
// operations to docs. Legacy paths (LicenseBox-era clients) run exactly
// the same handlers as their modern twins.
func Register(router fiber.Router, docs *openapi.Registry, deps Deps) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handlers{Deps: deps, tokens: newTokenChecker(deps.Signing)}
	p := deps.Pipeline

	connection := p.Guard(scopeConnection, h.connectionCheck)
	activate := p.Guard(scopeActivate, h.activate)
	verify := p.Guard(scopeVerify, h.verify)
	deactivate := p.Guard(scopeDeactivate, h.deactivate)
	check := p.Guard(scopeCheck, h.check)

	router.Get("/external/connection-check", connection)
	router.Post("/external/connection-check", connection)
	router.Post("/external/license/activate", activate)
	router.Post("/external/license/verify", verify)
	router.Post("/external/license/deactivate", deactivate)
	router.Post("/external/license/check", check)
	router.Get("/external/public-keys", p.Public(h.publicKeys))

	// Legacy aliases (api.md §4).
	router.Get("/check_connection_ext", connection)
	router.Post("/check_connection_ext", connection)
	router.Post("/activate_license", activate)
	router.Post("/verify_license", verify)
	router.Post("/deactivate_license", deactivate)
	router.Post("/check_license", check)

	docs.Add(operations()...)
}
