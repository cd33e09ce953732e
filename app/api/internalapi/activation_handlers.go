package internalapi

import (
	"context"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/licensing"
)

// Messages of the activation actions (docs/api/internal.md).
const (
	msgActivationActivated   = "Product activation has been activated successfully."
	msgActivationDeactivated = "Product activation has been deactivated successfully."
)

// listActivations: GET /api/internal/product-activations, filters
// product_reference_id, license_code, client_name, domain, is_active,
// is_valid and status (the heartbeat states, licensing.ActivationStates).
func (h *handlers) listActivations(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	var filter licensing.ActivationFilter
	filter.ProductReferenceID, _ = f.String("product_reference_id")
	filter.LicenseCode, _ = f.String("license_code")
	filter.ClientName, _ = f.String("client_name")
	filter.Domain, _ = f.String("domain")
	filter.IsActive = optFilterBool(f, "is_active")
	filter.IsValid = optFilterBool(f, "is_valid")
	filter.State, _ = f.Enum("status", licensing.ActivationStates)
	sort, _ := f.String("sort")
	if err := f.Err(); err != nil {
		return err
	}
	page := h.pageRequest(c)
	list, total, err := licensing.ListActivations(c.Context(), h.db, filter, sort, page.Page)
	if err != nil {
		return err
	}
	out := make([]activationResource, len(list))
	for i := range list {
		out[i] = presentActivation(&list[i])
	}
	return c.JSON(newPage(out, total, page))
}

// getActivation: GET /api/internal/product-activations/{activation}.
func (h *handlers) getActivation(c fiber.Ctx, r *pipeline.Request) error {
	a, err := resolveActivation(c.Context(), h.db, param(c, "activation"))
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentActivation(a))
}

// activateActivation: POST
// /api/internal/activated-product-activations/{activation}: an admin
// override that takes a slot without checking the license's limits. A
// failed attempt cannot be activated (422).
func (h *handlers) activateActivation(c fiber.Ctx, r *pipeline.Request) error {
	a, err := resolveActivation(c.Context(), h.db, param(c, "activation"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licenses.MarkActivationActive(ctx, tx, source(r), a.ID)
		return err
	})
	if err != nil {
		return err
	}
	return respondAction(c, msgActivationActivated)
}

// deactivateActivation: DELETE
// /api/internal/activated-product-activations/{activation}; the row is
// kept, its slot freed (reason admin).
func (h *handlers) deactivateActivation(c fiber.Ctx, r *pipeline.Request) error {
	a, err := resolveActivation(c.Context(), h.db, param(c, "activation"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licenses.MarkActivationInactive(ctx, tx, source(r), a.ID, licensing.ReasonAdmin)
		return err
	})
	if err != nil {
		return err
	}
	return respondAction(c, msgActivationDeactivated)
}
