package portal

import (
	"fmt"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// Dashboard list lengths: recent activations, and licenses offered for a
// quick license-file download.
const (
	dashboardActivations = 5
	dashboardLicenses    = 5
)

// dashboard shows the customer's license counts (linking rule): total,
// valid and expired; the five latest activations; and quick actions (how
// to activate, license files to download, "Get More Licenses" when
// get_more_licenses_url is set).
func (h *handlers) dashboard(c fiber.Ctx) error {
	ctx := c.Context()
	cu := current(c)
	now := h.now()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	count := func(status string) (int, error) {
		_, n, err := licensing.ListLicenses(ctx, h.read(c), licensing.LicenseFilter{Customer: cu, Status: status}, "", listing.Page{Number: 1, PerPage: 1}, now)
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
	recent, _, err := h.activationPage(c, licensing.ActivationFilter{Customer: cu}, listing.Page{Number: 1, PerPage: dashboardActivations})
	if err != nil {
		return err
	}
	var files []licenseRow
	if set.CustomerPageLicenses {
		ls, _, err := licensing.ListLicenses(ctx, h.read(c), licensing.LicenseFilter{Customer: cu, Status: licensing.StatusValid}, "",
			listing.Page{Number: 1, PerPage: dashboardLicenses}, now)
		if err != nil {
			return fmt.Errorf("portal dashboard: %w", err)
		}
		for i := range ls {
			files = append(files, presentLicense(&ls[i], now))
		}
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page:   "portal/dashboard",
		Layout: "layouts/portal",
		Data: fiber.Map{
			"Title": "Dashboard", "Total": total, "Active": active, "Expired": expired,
			"Recent": recent, "LicenseFiles": files, "MoreURL": set.GetMoreLicensesURL,
			"LicensesOn": set.CustomerPageLicenses, "ActivationsOn": set.CustomerPageActivations,
		},
	})
}
