package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/web"
)

// customerDelete deletes one customer; their licenses are kept.
func (h *handlers) customerDelete(c fiber.Ctx) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return h.customers.Delete(ctx, tx, source(c), cu.ID)
	})
	if errors.Is(err, customers.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Customer %s deleted. Their licenses are kept.", cu.Name))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/customers")
}

// customersBulkDelete deletes the selected customers (ids) in one
// transaction and goes back to the list as it was (back). Ids already gone
// are skipped.
func (h *handlers) customersBulkDelete(c fiber.Ctx) error {
	return h.bulkApply(c, bulkTarget{list: "/admin/customers", one: "customer", many: "customers", gone: customers.ErrNotFound},
		"Deleted %s. Their licenses are kept.", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
			return true, h.customers.Delete(ctx, tx, source(c), id)
		})
}
