package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/web"
)

// productDelete deletes a product with its versions, licenses and
// activations; the page's confirmation named their counts.
func (h *handlers) productDelete(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	var impact catalog.Impact
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		if impact, err = catalog.DeleteImpact(ctx, tx, p.ID); err != nil {
			return err
		}
		return h.catalog.DeleteProduct(ctx, tx, source(c), p.ID)
	})
	if errors.Is(err, catalog.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Product %s deleted with %s.", p.Name, impactText(impact)))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/products")
}

// productDeleteConfirm is the question the delete button asks.
func productDeleteConfirm(p *catalog.Product, im catalog.Impact) string {
	return fmt.Sprintf("Delete product %s? This also deletes %s. It cannot be undone.", p.Name, impactText(im))
}

func impactText(im catalog.Impact) string {
	return fmt.Sprintf("%s, %s and %s", plural(im.Versions, "version", "versions"),
		plural(im.Licenses, "license", "licenses"), plural(im.Activations, "activation", "activations"))
}
