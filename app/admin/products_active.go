package admin

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/web"
)

// productActivate makes a product answer the external API again.
func (h *handlers) productActivate(c fiber.Ctx) error { return h.productSetActive(c, true) }

// productDeactivate makes the external API answer "not found" for a
// product, except deactivations.
func (h *handlers) productDeactivate(c fiber.Ctx) error { return h.productSetActive(c, false) }

func (h *handlers) productSetActive(c fiber.Ctx, active bool) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.catalog.SetProductActive(ctx, tx, source(c), p.ID, active)
		return err
	})
	if err != nil {
		return err
	}
	state := "activated"
	if !active {
		state = "deactivated: the API treats it as unknown, except deactivations"
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Product %s %s.", p.Name, state))
	return web.Redirect(c, fiber.StatusSeeOther, productPath(p.ID))
}
