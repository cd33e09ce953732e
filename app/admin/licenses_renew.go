package admin

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

// licenseRenew renews the license on the same key (docs/licensing.md#renewals)
// for the days typed, else its product's renewal period, and goes back to
// its page; a refused period is a flash.
func (h *handlers) licenseRenew(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	var verr fields.Error
	days := formInt(&verr, "days", c.FormValue("days"))
	if err == nil {
		err = verr.Err()
	}
	if err == nil {
		err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
			_, _, err := h.licensing.RenewLicense(ctx, tx, source(c), l.ID, days)
			return err
		})
	}
	if verr, ok := fields.As(err); ok {
		web.AddFlash(c, web.FlashError, verr.First())
		return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s renewed.", l.LicenseCode))
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(l.ID))
}
