package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// licenseDeleteDialog is the confirmation of a license's delete: with
// activation records, which go with it, the admin types the code.
func (h *handlers) licenseDeleteDialog(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	n, err := h.licenseActivationCount(c, l.ID)
	if err != nil {
		return err
	}
	d := fiber.Map{
		"Title": "Delete license " + l.LicenseCode + "?", "Action": licensePath(l.ID) + "/delete",
		"Back": web.CurrentPath(c, ""), "CSRF": web.CSRFToken(c),
		"Message": "The license is deleted. This cannot be undone.",
	}
	if n > 0 {
		d["Message"] = fmt.Sprintf("The license is deleted with its %s; software using it stops working. This cannot be undone.",
			plural(n, "activation record", "activation records"))
		d["ConfirmText"] = l.LicenseCode
	}
	return web.RenderDialog(c, "partials/delete-dialog", d)
}

// licenseActivationCount is how many activation records license id has.
func (h *handlers) licenseActivationCount(c fiber.Ctx, id int64) (int, error) {
	_, n, err := licensing.ListActivations(c.Context(), h.db, licensing.ActivationFilter{LicenseID: id}, "", listing.Page{PerPage: 1})
	return n, err
}

// licenseDelete deletes a license with its activations. A license with
// activation records is deleted only when the form names it (confirm_name,
// what the dialog asks to type).
func (h *handlers) licenseDelete(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back"), "/admin/licenses")
	n, err := h.licenseActivationCount(c, l.ID)
	if err != nil {
		return err
	}
	if n > 0 && strings.TrimSpace(c.FormValue("confirm_name")) != l.LicenseCode {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("License %s was not deleted: type its code to confirm.", l.LicenseCode))
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return h.licensing.DeleteLicense(ctx, tx, source(c), l.ID)
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s deleted with its activations.", l.LicenseCode))
	// Back to where the delete was asked, unless that was the license's
	// own page, which is gone.
	if own := licensePath(l.ID); back == own || strings.HasPrefix(back, own+"/") || strings.HasPrefix(back, own+"?") {
		back = "/admin/licenses"
	}
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
