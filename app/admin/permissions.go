package admin

import (
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/web"
)

// need lets through only admins whose role has p; everyone else gets 403,
// logged (the request log and the activity log) with what was missing.
// It runs before the handler reads the body.
func (h *handlers) need(p admins.Permission) fiber.Handler {
	return func(c fiber.Ctx) error {
		return h.check(c, p)
	}
}

func (h *handlers) check(c fiber.Ctx, p admins.Permission) error {
	a := currentAdmin(c)
	if a.Can(p) {
		return c.Next()
	}
	return h.refuse(c, a, p)
}

// refuse answers 403 for a request a's role does not allow.
func (h *handlers) refuse(c fiber.Ctx, a *admins.Admin, p admins.Permission) error {
	ctx := c.Context()
	role := ""
	if a != nil && a.Role != nil {
		role = a.Role.Name
	}
	h.logger.WarnContext(ctx, "console request refused", "admin_id", adminID(a), "role", role,
		"permission", string(p), "method", c.Method(), "path", web.LogPath(c), "request_id", web.RequestIDOf(c))
	err := admins.RecordRefusal(ctx, h.db, source(c), a, admins.Refusal{
		Permission: p, Method: c.Method(), Path: c.Path(), LogPath: web.LogPath(c),
	})
	if err != nil {
		h.logger.ErrorContext(ctx, "record refused request", "error", err)
	}
	return fiber.NewError(fiber.StatusForbidden, msgNotAllowed)
}

// msgNotAllowed is the 403 page's message for a permission the role lacks.
const msgNotAllowed = "Your role does not allow this. Ask an owner of this console if you need it."

func adminID(a *admins.Admin) int64 {
	if a == nil {
		return 0
	}
	return a.ID
}

// settingsPermission is what a settings group's page needs: its own
// permission for the API and migration groups and the signing and
// release keys, settings.general for every other group.
func settingsPermission(group string) admins.Permission {
	switch group {
	case "api":
		return admins.SettingsAPI
	case "migration":
		return admins.SettingsMigration
	case signingKeysGroup:
		return admins.SettingsSigningKeys
	}
	return admins.SettingsGeneral
}

// needSettings checks the permission of the :group in the path.
func (h *handlers) needSettings(c fiber.Ctx) error {
	return h.check(c, settingsPermission(c.Params("group")))
}

// needJobs lets admins who may view jobs open River's console and read
// its API; changing jobs (retry, cancel, delete) needs jobs.manage.
func (h *handlers) needJobs(c fiber.Ctx) error {
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		return h.check(c, admins.JobsView)
	}
	return h.check(c, admins.JobsManage)
}

// routePerms holds the permission of every route mounted with a fixed
// one (routes.go's get and post), to tell whether a link or form action
// would be refused before showing it.
type routePerms struct{ routes []routePerm }

type routePerm struct {
	method string
	parts  []string // path segments; ":x" matches any one
	perm   admins.Permission
}

func (r *routePerms) add(method, path string, p admins.Permission) {
	r.routes = append(r.routes, routePerm{method: method, parts: strings.Split(strings.Trim(path, "/"), "/"), perm: p})
}

// of returns the permission of method on the local URL u (its query
// ignored), and whether a route was found.
func (r *routePerms) of(method, u string) (admins.Permission, bool) {
	path, _, _ := strings.Cut(u, "?")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for _, rt := range r.routes {
		if rt.method != method || len(rt.parts) != len(parts) {
			continue
		}
		match := true
		for i, p := range rt.parts {
			if !strings.HasPrefix(p, ":") && p != parts[i] {
				match = false
				break
			}
		}
		if match {
			return rt.perm, true
		}
	}
	return "", false
}

// allowed keeps of a list's toolbar what a may use: bulk actions, links,
// the export menu and its extra entries whose route a's role allows.
func (h *handlers) allowed(a *admins.Admin, spec web.TableSpec) web.TableSpec {
	may := func(method, u string) bool {
		p, ok := h.routePerms.of(method, u)
		return !ok || a.Can(p)
	}
	var bulk []web.BulkAction
	for _, b := range spec.Bulk {
		if may(fiber.MethodPost, b.Action) {
			bulk = append(bulk, b)
		}
	}
	spec.Bulk = bulk
	keep := func(links []web.Link) []web.Link {
		var out []web.Link
		for _, l := range links {
			if may(fiber.MethodGet, l.URL) {
				out = append(out, l)
			}
		}
		return out
	}
	spec.Links, spec.ExtraExport = keep(spec.Links), keep(spec.ExtraExport)
	if spec.ExportPath != "" && !may(fiber.MethodGet, spec.ExportPath) {
		spec.ExportPath = ""
	}
	return spec
}
