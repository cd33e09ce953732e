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
	ids := selectedIDs(c)
	back := web.LocalPath(c.FormValue("back"), "/admin/customers")
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the customers to delete first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	deleted := 0
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		for _, id := range ids {
			err := h.customers.Delete(ctx, tx, source(c), id)
			if errors.Is(err, customers.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			deleted++
		}
		return nil
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Deleted %s. Their licenses are kept.", plural(deleted, "customer", "customers")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
