package admin

import (
	"context"
	"fmt"
	"strings"

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
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Customer %s deleted. Their licenses are kept.", cu.Name))
	back := web.LocalPath(c.FormValue("back"), "/admin/customers")
	if own := customerPath(cu.ID); back == own || strings.HasPrefix(back, own+"/") || strings.HasPrefix(back, own+"?") {
		back = "/admin/customers"
	}
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// customersBulkDelete deletes the selected customers (ids) in one
// transaction and goes back to the list as it was (back). Ids already gone
// are skipped.
func (h *handlers) customersBulkDelete(c fiber.Ctx) error {
	return h.bulkApply(c, bulkTarget{list: "/admin/customers", one: "customer", many: "customers", gone: customers.ErrNotFound, matching: h.customersMatching},
		"Deleted %s. Their licenses are kept.", func(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
			return true, h.customers.Delete(ctx, tx, source(c), id)
		})
}

// customersMatching are the ids of every customer the list's query (in
// the bulk form's URL) matches.
func (h *handlers) customersMatching(c fiber.Ctx) ([]int64, error) {
	_, f, err := h.customersFilterOf(c)
	if err != nil {
		return nil, err
	}
	var ids []int64
	err = customers.Each(c.Context(), h.db, f, 1000, func(batch []customers.Customer) error {
		for _, cu := range batch {
			ids = append(ids, cu.ID)
		}
		return nil
	})
	return ids, err
}
