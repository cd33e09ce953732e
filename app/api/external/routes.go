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
	scopeUpdate     = "update:check"
	scopeLatest     = "update:latest"
	scopeDownload   = "update:download"
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

	updateCheck := p.Guard(scopeUpdate, h.updateCheck)
	latest := p.Guard(scopeLatest, h.latestVersion)
	download := p.Guard(scopeDownload, h.download)
	size := p.Guard(scopeDownload, h.size)
	link := p.Public(h.downloadLink)
	router.Post("/external/update/check", updateCheck)
	router.Post("/external/update/latest", latest)
	router.Post("/external/update/:version_id/download/:type", download)
	router.Get("/external/update/:version_id/download/:type/size", size)
	router.Head("/external/update/:version_id/download/:type/size", size)
	router.Get("/download/:token", link)
	router.Head("/download/:token", link)

	// Legacy aliases (api.md §4).
	router.Get("/check_connection_ext", connection)
	router.Post("/check_connection_ext", connection)
	router.Post("/activate_license", activate)
	router.Post("/verify_license", verify)
	router.Post("/deactivate_license", deactivate)
	router.Post("/check_license", check)
	router.Post("/check_update", updateCheck)
	router.Post("/latest_version", latest)
	router.Post("/download_update/:type/:version_id", download)
	router.Post("/download_update/:version_id", download)
	router.Post("/download_update", download)
	for _, path := range []string{"/get_update_size/:type/:version_id", "/get_update_size"} {
		router.Get(path, size)
		router.Post(path, size)
		router.Head(path, size)
	}
	router.Get("/get_update_size/:version_id", size)
	router.Head("/get_update_size/:version_id", size)

	docs.Add(operations()...)
}
