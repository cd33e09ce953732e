package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// How much of a license's history its page shows.
const (
	licenseActivationsShown = 50
	licenseHistoryShown     = 50
)

// licenseShow is a license's page: its fields and derived values, its
// activations (deactivate buttons on the active ones) and its history
// from the activity log.
func (h *handlers) licenseShow(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	ctx := c.Context()
	activations, activationTotal, err := licensing.ListActivations(ctx, h.db, licensing.ActivationFilter{LicenseID: l.ID}, "",
		listing.Page{PerPage: licenseActivationsShown})
	if err != nil {
		return err
	}
	history, _, err := audit.List(ctx, h.db, audit.Filter{Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID}}, "",
		listing.Page{PerPage: licenseHistoryShown})
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/licenses/show", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": l.LicenseCode, "Section": "licenses", "License": l, "Now": h.now(),
			"Activations": activations, "ActivationTotal": activationTotal, "History": history,
		},
	})
}
