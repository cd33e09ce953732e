package portal

import (
	"fmt"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// dashboard shows the customer's license counts (linking rule): total,
// valid and expired.
func (h *handlers) dashboard(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	now := h.now()
	count := func(status string) (int, error) {
		_, n, err := licensing.ListLicenses(ctx, h.db, licensing.LicenseFilter{Customer: cu, Status: status}, "", listing.Page{Number: 1, PerPage: 1}, now)
		if err != nil {
			return 0, fmt.Errorf("portal dashboard: %w", err)
		}
		return n, nil
	}
	total, err := count("")
	if err != nil {
		return err
	}
	active, err := count(licensing.StatusValid)
	if err != nil {
		return err
	}
	expired, err := count(licensing.StatusExpired)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page:   "portal/dashboard",
		Layout: "layouts/portal",
		Data:   fiber.Map{"Title": "Dashboard", "Total": total, "Active": active, "Expired": expired},
	})
}
