package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/web"
)

// productDeleteDialog is the confirmation of a product's delete: it names
// what goes with it and, when anything does, asks to type the product's
// name.
func (h *handlers) productDeleteDialog(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	impact, err := catalog.DeleteImpact(c.Context(), h.db, p.ID)
	if err != nil {
		return err
	}
	d := fiber.Map{
		"Title": "Delete product " + p.Name + "?", "Action": productPath(p.ID) + "/delete",
		"Back": web.CurrentPath(c, ""), "CSRF": web.CSRFToken(c), "Message": productDeleteConfirm(p, impact),
	}
	if impact != (catalog.Impact{}) {
		d["ConfirmText"] = p.Name
	}
	return web.RenderDialog(c, "partials/delete-dialog", d)
}

// productDelete deletes a product with its versions, licenses and
// activations. When anything goes with it, the form must name the product
// (confirm_name, what the dialog asks to type).
func (h *handlers) productDelete(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back"), "/admin/products")
	if own := productPath(p.ID); back == own || strings.HasPrefix(back, own+"/") || strings.HasPrefix(back, own+"?") {
		back = "/admin/products"
	}
	impact, err := catalog.DeleteImpact(c.Context(), h.db, p.ID)
	if err != nil {
		return err
	}
	if impact != (catalog.Impact{}) && strings.TrimSpace(c.FormValue("confirm_name")) != p.Name {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("Product %s was not deleted: type its name to confirm.", p.Name))
		return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(c.FormValue("back"), productPath(p.ID)))
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		if impact, err = catalog.DeleteImpact(ctx, tx, p.ID); err != nil {
			return err
		}
		return h.catalog.DeleteProduct(ctx, tx, source(c), p.ID)
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Product %s deleted with %s.", p.Name, impactText(impact)))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}

// productDeleteConfirm is the question the delete button asks.
func productDeleteConfirm(p *catalog.Product, im catalog.Impact) string {
	return fmt.Sprintf("Delete product %s? This also deletes %s. It cannot be undone.", p.Name, impactText(im))
}

func impactText(im catalog.Impact) string {
	return fmt.Sprintf("%s, %s and %s", plural(im.Versions, "version", "versions"),
		plural(im.Licenses, "license", "licenses"), plural(im.Activations, "activation", "activations"))
}
