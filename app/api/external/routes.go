package external

import (
	"log/slog"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/signature"
)

// Scopes of the external endpoints (docs/api/authentication.md#scopes, docs/api/external.md).
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

// Register mounts the external API on router, the /api group; Operations
// documents it. Legacy paths (LicenseBox-era clients) run the same
// handlers as their modern twins, some in their legacy variant.
func Register(router fiber.Router, deps Deps) {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	h := &handlers{Deps: deps, tokens: newTokenChecker(deps.Signing)}
	p := deps.Pipeline
	r := signedRoutes{router: router, signer: deps.Signer, guarded: true}
	public := signedRoutes{router: router, signer: deps.Signer}

	connection := p.Guard(scopeConnection, h.connectionCheck)
	activate := h.counted("activate", p.Guard(scopeActivate, h.activate(modernPaths)))
	verify := h.counted("verify", p.Guard(scopeVerify, h.verify(modernPaths)))
	deactivate := h.counted("deactivate", p.Guard(scopeDeactivate, h.deactivate))
	check := h.counted("check", p.Guard(scopeCheck, h.check(modernPaths)))
	// Heartbeats and floating seats (docs/licensing.md): modern paths only.
	heartbeat := h.counted("heartbeat", p.Guard(scopeVerify, h.heartbeat))
	checkout := h.counted("checkout", p.Guard(scopeActivate, h.checkout))
	checkin := h.counted("checkin", p.Guard(scopeDeactivate, h.checkin))

	r.add(get+post, "/external/connection-check", connection)
	r.add(post, "/external/license/activate", activate)
	r.add(post, "/external/license/verify", verify)
	r.add(post, "/external/license/deactivate", deactivate)
	r.add(post, "/external/license/check", check)
	r.add(post, "/external/license/heartbeat", heartbeat)
	r.add(post, "/external/license/checkout", checkout)
	r.add(post, "/external/license/checkin", checkin)
	public.add(get, "/external/public-keys", p.Public(h.publicKeys))

	updateCheck := p.Guard(scopeUpdate, h.updateCheck(modernPaths))
	latest := p.Guard(scopeLatest, h.latestVersion(modernPaths))
	download := p.Guard(scopeDownload, h.download)
	size := p.Guard(scopeDownload, h.size)
	link := p.Public(h.downloadLink)
	r.add(post, "/external/update/check", updateCheck)
	r.add(post, "/external/update/latest", latest)
	r.add(post, "/external/update/:version_id/download/:type", download)
	r.add(get+head, "/external/update/:version_id/download/:type/size", size)
	public.add(get+head, "/download/:token", link)

	// Legacy aliases (docs/api/external.md). Those whose "nothing found" answers
	// differ (docs/api/legacy.md) run their handler's legacy variant.
	r.add(get+post, "/check_connection_ext", connection)
	r.add(post, "/activate_license", h.counted("activate", p.Guard(scopeActivate, h.activate(legacyPaths))))
	r.add(post, "/verify_license", h.counted("verify", p.Guard(scopeVerify, h.verify(legacyPaths))))
	r.add(post, "/deactivate_license", deactivate)
	r.add(post, "/check_license", h.counted("check", p.Guard(scopeCheck, h.check(legacyPaths))))
	r.add(post, "/check_update", p.Guard(scopeUpdate, h.updateCheck(legacyPaths)))
	r.add(post, "/latest_version", p.Guard(scopeLatest, h.latestVersion(legacyPaths)))
	r.add(post, "/download_update/:type/:version_id", download)
	r.add(post, "/download_update/:version_id", download)
	r.add(post, "/download_update", download)
	r.add(get+post+head, "/get_update_size/:type/:version_id", size)
	r.add(get+post+head, "/get_update_size", size)
	r.add(get+head, "/get_update_size/:version_id", size)
}

// Methods of a route, combined with +.
const (
	get = 1 << iota
	post
	head
)

// signedRoutes registers the external routes, each behind the response
// signer when there is one: every answer of these paths is signed in that
// one place (docs/api/verifying.md#signed-responses).
type signedRoutes struct {
	router fiber.Router
	signer *signature.Signer
	// guarded: every handler added is a pipeline.Guard (maybe counted),
	// whose pass over the headers reads the nonce header for the signer.
	guarded bool
}

func (r signedRoutes) add(methods int, path string, h fiber.Handler) {
	handlers := []any{h}
	if r.signer != nil {
		sign := r.signer.Handle
		if r.guarded {
			sign = r.signer.Guarded
		}
		handlers = []any{sign, h}
	}
	for _, m := range []struct {
		bit int
		add func(string, any, ...any) fiber.Router
	}{{get, r.router.Get}, {post, r.router.Post}, {head, r.router.Head}} {
		if methods&m.bit != 0 {
			m.add(path, handlers[0], handlers[1:]...)
		}
	}
}
