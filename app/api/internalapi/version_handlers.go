package internalapi

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
)

// Versions are served read-only here: the catalog holds their fields and
// lookups, while creating, changing and deleting them (uploads, files,
// integrity) belong to the updates work.

// listVersions: GET /api/internal/products/{product}/versions, every
// version newest first, not paginated.
func (h *handlers) listVersions(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	vs, err := catalog.Versions(c.Context(), h.db, p.ID)
	if err != nil {
		return err
	}
	out := make([]versionResource, len(vs))
	for i := range vs {
		out[i] = presentVersion(&vs[i], p)
	}
	return respondData(c, fiber.StatusOK, out)
}

// getVersion: GET /api/internal/products/{product}/versions/{version}, a
// version id or a version string of that product.
func (h *handlers) getVersion(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	v, err := resolveVersion(c.Context(), h.db, p, param(c, "version"))
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentVersion(v, p))
}
