package admin

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

// customerEdit shows cu's form with the number of licenses linked now.
func (h *handlers) customerEdit(c fiber.Ctx) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	form := customerForm{Name: cu.Name, Email: cu.Email, ClientID: cu.ClientID, Confirmed: cu.Confirmed()}
	return h.renderCustomerForm(c, fiber.StatusOK, cu, form, nil)
}

// customerUpdate saves the form. An empty password keeps the current one;
// a new client ID relinks licenses (the linking rule reads it), so the
// flash says how many are linked afterwards.
func (h *handlers) customerUpdate(c fiber.Ctx) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	form := readCustomerForm(c)
	var saved *customers.Customer
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		saved, err = h.customers.Update(ctx, tx, source(c), set, cu.ID, customers.UpdateParams{
			Name: fields.Some(form.Name), Email: fields.Some(form.Email), ClientID: fields.Some(form.ClientID),
			Password: fields.Some(form.Password), Confirmed: fields.Some(form.Confirmed),
			MoveLicenses: form.MoveLicenses,
		})
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderCustomerForm(c, fiber.StatusUnprocessableEntity, cu, form, verr.Map())
	}
	if err != nil {
		return err
	}
	linked, err := h.linkedLicenses(c.Context(), saved)
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Customer %s saved. %s linked now.", saved.Name, plural(linked, "license", "licenses")))
	return web.Redirect(c, fiber.StatusSeeOther, customerPath(saved.ID))
}

// clientIDImpact is what the edit form says, before saving, about a
// changed client ID: how many licenses it unlinks and links, and whether
// the admin chose to move the unlinked ones to the new ID.
type clientIDImpact struct {
	customers.ClientIDImpact
	Move bool
}

// customerClientIDImpact draws that note for the client ID typed in the
// edit form (htmx, as it is typed).
func (h *handlers) customerClientIDImpact(c fiber.Ctx) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	impact, err := customers.ClientIDChange(c.Context(), h.db, cu, c.Query("client_id"))
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/customers/client-id-impact", Fragment: "admin/customers/client-id-impact/note",
		Data: fiber.Map{"Impact": clientIDImpact{ClientIDImpact: impact, Move: c.Query("move_licenses") == "1"}},
	})
}

// customerOf loads the customer of the :id path parameter; unknown or
// malformed ids are a 404.
func (h *handlers) customerOf(c fiber.Ctx) (*customers.Customer, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	cu, err := customers.Get(c.Context(), h.db, id)
	return cu, err
}

// linkedLicenses counts cu's licenses by the linking rule.
func (h *handlers) linkedLicenses(ctx context.Context, cu *customers.Customer) (int, error) {
	counts, err := customers.LicenseCounts(ctx, h.db, []int64{cu.ID})
	if err != nil {
		return 0, err
	}
	return counts[cu.ID], nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
