package admin

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
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
	renewals, err := licensing.Renewals(ctx, h.db, l.ID)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/licenses/show", Layout: "layouts/admin",
		Data: fiber.Map{
			"Title": l.LicenseCode, "Section": "licenses", "License": l, "Now": h.now(),
			"Activations": activations, "ActivationTotal": activationTotal, "History": history, "Renewals": renewals,
		},
	})
}

// licenseFile downloads the license's signed license file
// (docs/api/signing.md#license-files), built as the internal API builds it:
// the customer in it is the one the linking rule gives the license, else
// its own customer ID and email. It verifies with the keys of
// /api/external/public-keys.
func (h *handlers) licenseFile(c fiber.Ctx) error {
	l, err := h.licenseOf(c)
	if err != nil {
		return err
	}
	if h.signing == nil {
		return errors.New("admin: no signing key ring")
	}
	cust, err := customers.LinkedTo(c.Context(), h.db, l.CustomerID, l.Email)
	if err != nil {
		return err
	}
	name, file, err := licensing.LicenseFile(h.signing, l, cust, h.now())
	if err != nil {
		return fmt.Errorf("admin license file: %w", err)
	}
	c.Attachment(name)
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(file)
}
