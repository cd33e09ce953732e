package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// licenseDelete deletes a license with its activations.
func (h *handlers) licenseDelete(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		return h.licensing.DeleteLicense(ctx, tx, source(c), l.ID)
	})
	if errors.Is(err, licensing.ErrNotFound) {
		return fiber.ErrNotFound
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s deleted with its activations.", l.LicenseCode))
	return web.Redirect(c, fiber.StatusSeeOther, "/admin/licenses")
}
