package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/web"
)

// productsBulkActivate activates the selected products.
func (h *handlers) productsBulkActivate(c fiber.Ctx) error { return h.productsBulkActive(c, true) }

// productsBulkDeactivate deactivates the selected products.
func (h *handlers) productsBulkDeactivate(c fiber.Ctx) error { return h.productsBulkActive(c, false) }

func (h *handlers) productsBulkActive(c fiber.Ctx, active bool) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/products")
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the products first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	changed := 0
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		for _, id := range ids {
			_, ok, err := h.catalog.SetProductActive(ctx, tx, source(c), id, active)
			if errors.Is(err, catalog.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if ok {
				changed++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	verb := "Activated"
	if !active {
		verb = "Deactivated"
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("%s %s.", verb, plural(changed, "product", "products")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// productsBulkDelete deletes the selected products with their versions,
// licenses and activations, in one transaction.
func (h *handlers) productsBulkDelete(c fiber.Ctx) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/products")
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the products to delete first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	deleted := 0
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		for _, id := range ids {
			err := h.catalog.DeleteProduct(ctx, tx, source(c), id)
			if errors.Is(err, catalog.ErrNotFound) {
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
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Deleted %s with their licenses and activations.", plural(deleted, "product", "products")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// selectedIDs reads the ids a bulk form posts (checked rows); malformed
// ones are skipped.
func selectedIDs(c fiber.Ctx) []int64 {
	var ids []int64
	for _, raw := range c.Request().PostArgs().PeekMulti("ids") {
		if id, err := strconv.ParseInt(string(raw), 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}
