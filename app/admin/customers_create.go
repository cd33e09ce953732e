package admin

import (
	"context"
	"crypto/subtle"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// customerForm is what the create and edit forms post; typed values go
// back into the form when validation fails (never the password).
type customerForm struct {
	Name, Email, ClientID, Password string
	// PasswordConfirm is the new-customer form's second password field.
	PasswordConfirm string
	Confirmed       bool
	// MoveLicenses: move the licenses naming the old client ID to the
	// new one (the edit form, when the client ID changes).
	MoveLicenses bool
}

func readCustomerForm(c fiber.Ctx) customerForm {
	return customerForm{
		Name: c.FormValue("name"), Email: c.FormValue("email"), ClientID: c.FormValue("client_id"),
		Password: c.FormValue("password"), PasswordConfirm: c.FormValue("password_confirm"),
		Confirmed: c.FormValue("confirmed") == "1", MoveLicenses: c.FormValue("move_licenses") == "1",
	}
}

// customerNew shows the empty create form.
func (h *handlers) customerNew(c fiber.Ctx) error {
	return h.renderCustomerForm(c, fiber.StatusOK, nil, customerForm{}, nil)
}

// customerCreate creates the customer (the welcome email goes out through
// the service's hooks when send_welcome_email is on) and opens its page.
func (h *handlers) customerCreate(c fiber.Ctx) error {
	form := readCustomerForm(c)
	// A typed password is typed twice; a mismatch is shown with every
	// other field's error, and nothing is created.
	if form.Password != "" && subtle.ConstantTimeCompare([]byte(form.Password), []byte(form.PasswordConfirm)) != 1 {
		set, err := h.currentSettings(c.Context())
		if err != nil {
			return err
		}
		errs := map[string]string{}
		if verr, ok := fields.As(customers.Check(customers.CreateParams{
			Name: form.Name, Email: form.Email, ClientID: form.ClientID, Password: form.Password,
		}, set)); ok {
			errs = verr.Map()
		}
		errs["password_confirm"] = "The two passwords do not match."
		return h.renderCustomerForm(c, fiber.StatusUnprocessableEntity, nil, form, errs)
	}
	var created *customers.Customer
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		created, err = h.customers.Create(ctx, tx, source(c), set, customers.CreateParams{
			Name: form.Name, Email: form.Email, ClientID: form.ClientID, Password: form.Password,
		})
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderCustomerForm(c, fiber.StatusUnprocessableEntity, nil, form, verr.Map())
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Customer %s created.", created.Name))
	return web.Redirect(c, fiber.StatusSeeOther, customerPath(created.ID))
}

// renderCustomerForm draws the create form (cu nil) or cu's edit form;
// htmx posts get the form alone.
func (h *handlers) renderCustomerForm(c fiber.Ctx, status int, cu *customers.Customer, form customerForm, errs map[string]string) error {
	form.Password, form.PasswordConfirm = "", ""
	data := fiber.Map{"Section": "customers", "Form": form, "Errors": errs}
	page := "admin/customers/new"
	if cu == nil {
		data["Title"], data["Action"] = "New customer", "/admin/customers"
	} else {
		linked, err := h.linkedLicenses(c.Context(), cu)
		if err != nil {
			return err
		}
		page = "admin/customers/edit"
		data["Title"], data["Action"] = "Edit "+cu.Name, customerPath(cu.ID)+"/edit"
		data["Customer"], data["LinkedText"] = cu, plural(linked, "license is", "licenses are")
		impact, err := customers.ClientIDChange(c.Context(), h.db, cu, form.ClientID)
		if err != nil {
			return err
		}
		data["Impact"] = clientIDImpact{ClientIDImpact: impact, Move: form.MoveLicenses}
	}
	return web.Render(c, status, web.View{Page: page, Layout: "layouts/admin", Fragment: "admin/customers/form", Data: data})
}

// currentSettings is the settings snapshot, or the defaults when the
// console runs without a store (some tests).
func (h *handlers) currentSettings(ctx context.Context) (*settings.Values, error) {
	if h.settings == nil {
		return settings.Defaults(), nil
	}
	return h.settings.Get(ctx)
}

func customerPath(id int64) string { return fmt.Sprintf("/admin/customers/%d", id) }
