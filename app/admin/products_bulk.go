package admin

import (
	"context"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
)

// productsBulkActivate activates the selected products.
func (h *handlers) productsBulkActivate(c fiber.Ctx) error { return h.productsBulkActive(c, true) }

// productsBulkDeactivate deactivates the selected products.
func (h *handlers) productsBulkDeactivate(c fiber.Ctx) error { return h.productsBulkActive(c, false) }

func (h *handlers) productsBulkActive(c fiber.Ctx, active bool) error {
	done := "Activated %s."
	if !active {
		done = "Deactivated %s."
	}
	return h.bulkApply(c, h.productsBulk(), done, func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		_, changed, err := h.catalog.SetProductActive(ctx, tx, source(c), id, active)
		return changed, err
	})
}

// productsBulkDelete deletes the selected products with their versions,
// licenses and activations, in one transaction.
func (h *handlers) productsBulkDelete(c fiber.Ctx) error {
	return h.bulkApply(c, h.productsBulk(), "Deleted %s with their licenses and activations.", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
		return true, h.catalog.DeleteProduct(ctx, tx, source(c), id)
	})
}

func (h *handlers) productsBulk() bulkTarget {
	return bulkTarget{list: "/admin/products", one: "product", many: "products", gone: catalog.ErrNotFound, matching: h.productsMatching}
}
