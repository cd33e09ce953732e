package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/web"
)

const productTopCustomers = 5

// productShow is a product's page: its fields and license defaults, its
// statistics (one query), top customers (one query), versions and what
// deleting it would take with it.
func (h *handlers) productShow(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	ctx := c.Context()
	stats, err := catalog.ProductStats(ctx, h.db, p.ID, h.now())
	if err != nil {
		return err
	}
	top, err := catalog.TopCustomers(ctx, h.db, p.ID, productTopCustomers)
	if err != nil {
		return err
	}
	versions, err := catalog.Versions(ctx, h.db, p.ID)
	if err != nil {
		return err
	}
	impact, err := catalog.DeleteImpact(ctx, h.db, p.ID)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/products/show", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": p.Name, "Section": "products", "Product": p, "Stats": stats, "Top": top,
			"Versions": versions, "DeleteConfirm": productDeleteConfirm(p, impact),
		},
	})
}
