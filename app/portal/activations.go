package portal

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// activationColumns are the columns of the portal's activation lists.
var activationColumns = []web.Column{
	{Key: "domain", Label: "Domain"},
	{Key: "product", Label: "Product", Optional: true},
	{Key: "license", Label: "License", Optional: true},
	{Key: "ip", Label: "IP", Optional: true, Hidden: true},
	{Key: "activated", Label: "Activated", Optional: true},
	{Key: "verified", Label: "Last verified", Optional: true, Hidden: true},
}

// activationTable is the list component around rows of activations: id
// names it (two lists of activations share the template).
func activationTable(c fiber.Ctx, id string, canDeactivate bool, page listing.Page, total int) *web.Table {
	return web.NewTable(c, web.TableSpec{ID: id, Columns: activationColumns, RowActions: canDeactivate}, page, total)
}

// activationRow is what the portal shows of one activation, formatted.
type activationRow struct {
	ID                                          int64
	LicenseID                                   int64
	Product, License, Domain, IP, Date, Checked string
	Status                                      string
	// Heartbeat is the last heartbeat, or why a released activation went
	// (docs/licensing.md#heartbeats-and-automatic-release).
	Heartbeat string
	Active    bool
	// Offline activations are freed by their machine's release proof,
	// not by a button.
	Offline bool
}

func (h *handlers) activationRows(c fiber.Ctx, f licensing.ActivationFilter) ([]activationRow, error) {
	rows, _, err := h.activationPage(c, f, listing.Page{Number: 1, PerPage: 500})
	return rows, err
}

func (h *handlers) activationPage(c fiber.Ctx, f licensing.ActivationFilter, page listing.Page) ([]activationRow, int, error) {
	valid := true
	f.IsValid = &valid // failed attempts are not the customer's activations
	as, total, err := licensing.ListActivations(c.Context(), h.read(c), f, "", page)
	if err != nil {
		return nil, 0, fmt.Errorf("portal activations: %w", err)
	}
	rows := make([]activationRow, len(as))
	for i, a := range as {
		r := activationRow{
			ID: a.ID, Product: a.ProductReferenceID, License: maskCode(a.LicenseCode),
			Domain: deref(a.Domain), IP: deref(a.IP), Date: dateTime(&a.ActivatedAt), Checked: dateTime(a.LastVerifiedAt),
			Status: "inactive", Active: a.IsActive,
		}
		if a.LicenseID != nil {
			r.LicenseID = *a.LicenseID
		}
		if a.OfflineFingerprint != nil {
			r.Domain, r.Offline = "offline: "+*a.OfflineFingerprint, true
		}
		if a.IsActive {
			r.Status = "active"
		}
		if a.LastHeartbeatAt != nil {
			r.Heartbeat = "last heartbeat " + dateTime(a.LastHeartbeatAt)
		}
		if a.Released() {
			t := a.LastSignOfLife()
			r.Status, r.Heartbeat = "released", "released (no heartbeat since "+dateTime(&t)+")"
		}
		rows[i] = r
	}
	return rows, total, nil
}

func deref(s *string) string {
	if s == nil || *s == "" {
		return "—"
	}
	return *s
}

// activations lists every activation of the customer's licenses.
func (h *handlers) activations(c fiber.Ctx) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	page := web.ListPage(c)
	rows, total, err := h.activationPage(c, licensing.ActivationFilter{Customer: current(c)}, page)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/activations", Layout: "layouts/portal", Fragment: "portal/activations/table",
		Data: fiber.Map{
			"Title": "Activations", "Activations": rows, "CanDeactivate": set.AllowCustomerDeactivation,
			"Table": activationTable(c, "portal-activations", set.AllowCustomerDeactivation, page, total),
		},
	})
}

// deactivate frees the slot of one of the customer's activations (reason
// customer): 404 for another customer's activation, 403 when
// allow_customer_deactivation is off. It goes back to the page it came
// from (a local path in ?next=/next, else the activations page).
func (h *handlers) deactivate(c fiber.Ctx) error {
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return fiber.ErrNotFound
	}
	cu := current(c)
	a, err := licensing.CustomerActivation(ctx, h.db, cu, id)
	if err != nil {
		return err
	}
	if !set.AllowCustomerDeactivation {
		return fiber.ErrForbidden
	}
	if h.licensing == nil {
		return errors.New("portal: no licensing service")
	}
	if _, _, err := h.licensing.MarkActivationInactive(ctx, h.db, source(c, cu), a.ID, licensing.ReasonCustomer); err != nil {
		return fmt.Errorf("portal deactivate: %w", err)
	}
	msg := "The activation on " + deref(a.Domain) + " was deactivated; its slot is free."
	next := web.LocalPath(c.FormValue("next"), "/customer/product-activations")
	web.AddFlash(c, web.FlashSuccess, msg)
	return web.Redirect(c, fiber.StatusSeeOther, next)
}
