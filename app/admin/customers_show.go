package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// How much of a customer's history the detail page shows.
const (
	customerLicensesShown    = 50
	customerActivationsShown = 25
	customerActivityShown    = 25
	customerLoginsShown      = 25
)

// customerShow is a customer's page: the account, its licenses by the
// linking rule, their activations and the customer's own activity.
func (h *handlers) customerShow(c fiber.Ctx) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	ctx, now := c.Context(), h.now()
	licenses, licenseTotal, err := licensing.ListLicenses(ctx, h.db, licensing.LicenseFilter{Customer: cu}, "",
		listing.Page{PerPage: customerLicensesShown}, now)
	if err != nil {
		return err
	}
	activations, activationTotal, err := licensing.ListActivations(ctx, h.db, licensing.ActivationFilter{Customer: cu}, "",
		listing.Page{PerPage: customerActivationsShown})
	if err != nil {
		return err
	}
	activity, err := audit.CustomerActivities(ctx, h.db, cu.ID, customerActivityShown)
	if err != nil {
		return err
	}
	logins, err := customers.RecentLogins(ctx, h.db, cu.ID, customerLoginsShown)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/customers/show", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": cu.Name, "Section": "customers", "Customer": cu, "Now": now,
			"Licenses": licenses, "LicenseTotal": licenseTotal,
			"Activations": activations, "ActivationTotal": activationTotal,
			"Activity": activity, "Logins": logins,
		},
	})
}
