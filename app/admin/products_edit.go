package admin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

// productEdit shows p's form.
func (h *handlers) productEdit(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	return h.renderProductForm(c, fiber.StatusOK, p, productFormOf(p), nil)
}

// productUpdate saves the form; the reference ID cannot change, so the
// form does not send it.
func (h *handlers) productUpdate(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	form := readProductForm(c)
	form.ReferenceID = p.ReferenceID
	var verr fields.Error
	in := form.input(&verr)
	var saved *catalog.Product
	err = verr.Err()
	if err == nil {
		err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
			saved, err = h.catalog.UpdateProduct(ctx, tx, source(c), p.ID, in)
			return err
		})
	}
	if verr, ok := fields.As(err); ok {
		return h.renderProductForm(c, fiber.StatusUnprocessableEntity, p, form, verr.Map())
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Product %s saved.", saved.Name))
	return web.Redirect(c, fiber.StatusSeeOther, productPath(saved.ID))
}

// productOf loads the product of the :id path parameter; unknown or
// malformed ids are a 404.
func (h *handlers) productOf(c fiber.Ctx) (*catalog.Product, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	p, err := catalog.Get(c.Context(), h.db, id)
	return p, err
}
