package admin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// licenseEdit shows l's form.
func (h *handlers) licenseEdit(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	return h.renderLicenseForm(c, fiber.StatusOK, l, licenseFormOf(l, set.Location()), nil)
}

// licenseUpdate saves the form. Product and code cannot change; turning
// "valid" off blocks the license, freeing its activations.
func (h *handlers) licenseUpdate(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	form := readLicenseForm(c)
	form.Product, form.LicenseCode = l.ProductReferenceID, l.LicenseCode
	var saved *licensing.License
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		var verr fields.Error
		in := form.input(&verr, set.Location())
		if err := verr.Err(); err != nil {
			return err
		}
		saved, err = h.licensing.UpdateLicense(ctx, tx, source(c), set, l.ID, in)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderLicenseForm(c, fiber.StatusUnprocessableEntity, l, form, licenseErrors(verr))
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s saved.", saved.LicenseCode))
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(saved.ID))
}

// licenseOf loads the license of the :id path parameter; unknown or
// malformed ids are a 404.
func (h *handlers) licenseOf(c fiber.Ctx) (*licensing.License, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	l, err := licensing.Get(c.Context(), h.db, id)
	return l, err
}
