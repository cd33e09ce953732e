package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

// productForm is what the create and edit forms post, as typed, so the
// values go back into the form when validation fails.
type productForm struct {
	Name, ReferenceID, EnvatoID, Description            string
	LicenseUpdate, ServeLatestUpdates, IsActive         bool
	DefaultLicenseType, DefaultComments                 string
	DefaultUses, DefaultParallelUses, DefaultExpiryDays string
	DefaultUpdatesUntilDays, DefaultSupportUntilDays    string
	GraceDays                                           string
	// Entitlements and DefaultEntitlements: names separated by spaces.
	Entitlements, DefaultEntitlements string
	// DefaultExpiryStart: when new licenses' expiry days start counting
	// (docs/licensing.md#expiry-clock).
	DefaultExpiryStart string
	// The heartbeat policy (docs/licensing.md#heartbeats-and-automatic-release).
	HeartbeatInterval, HeartbeatTolerance, HeartbeatMissed string
	// DefaultFloating: new licenses are floating
	// (docs/licensing.md#floating-licenses).
	DefaultFloating bool
}

func readProductForm(c fiber.Ctx) productForm {
	return productForm{
		Name: c.FormValue("name"), ReferenceID: c.FormValue("reference_id"), EnvatoID: c.FormValue("envato_id"),
		Description:        c.FormValue("description"),
		LicenseUpdate:      c.FormValue("license_update") == "1",
		ServeLatestUpdates: c.FormValue("serve_latest_updates") == "1",
		IsActive:           c.FormValue("is_active") == "1",
		DefaultLicenseType: c.FormValue("default_license_type"), DefaultComments: c.FormValue("default_comments"),
		DefaultUses: c.FormValue("default_uses"), DefaultParallelUses: c.FormValue("default_parallel_uses"),
		DefaultExpiryDays:       c.FormValue("default_expiry_days"),
		DefaultUpdatesUntilDays: c.FormValue("default_updates_until_days"),
		DefaultSupportUntilDays: c.FormValue("default_support_until_days"),
		GraceDays:               c.FormValue("grace_days"),
		Entitlements:            c.FormValue("entitlements"),
		DefaultEntitlements:     c.FormValue("default_entitlements"),
		DefaultExpiryStart:      c.FormValue("default_expiry_start"),
		HeartbeatInterval:       c.FormValue("heartbeat_interval"),
		HeartbeatTolerance:      c.FormValue("heartbeat_tolerance"),
		HeartbeatMissed:         c.FormValue("heartbeat_missed"),
		DefaultFloating:         c.FormValue("default_floating") == "1",
	}
}

func productFormOf(p *catalog.Product) productForm {
	return productForm{
		Name: p.Name, ReferenceID: p.ReferenceID, EnvatoID: deref(p.EnvatoID), Description: deref(p.Description),
		LicenseUpdate: p.LicenseUpdate, ServeLatestUpdates: p.ServeLatestUpdates, IsActive: p.IsActive,
		DefaultLicenseType: deref(p.DefaultLicenseType), DefaultComments: deref(p.DefaultComments),
		DefaultUses: intText(p.DefaultUses), DefaultParallelUses: intText(p.DefaultParallelUses),
		DefaultExpiryDays:       intText(p.DefaultExpiryDays),
		DefaultUpdatesUntilDays: intText(p.DefaultUpdatesUntilDays),
		DefaultSupportUntilDays: intText(p.DefaultSupportUntilDays),
		GraceDays:               intText(p.GraceDays),
		Entitlements:            strings.Join(p.Entitlements, " "),
		DefaultEntitlements:     strings.Join(p.DefaultEntitlements, " "),
		DefaultExpiryStart:      p.DefaultExpiryStart,
		HeartbeatInterval:       intText(p.HeartbeatInterval),
		HeartbeatTolerance:      strconv.Itoa(p.HeartbeatTolerance),
		HeartbeatMissed:         p.HeartbeatMissed,
		DefaultFloating:         p.DefaultFloating,
	}
}

// input turns the form into a ProductInput; numbers that do not parse are
// reported in verr under their field.
func (f productForm) input(verr *fields.Error) catalog.ProductInput {
	return catalog.ProductInput{
		Name: fields.Some(f.Name), EnvatoID: fields.Some(textOrNil(f.EnvatoID)), Description: fields.Some(textOrNil(f.Description)),
		LicenseUpdate: fields.Some(f.LicenseUpdate), ServeLatestUpdates: fields.Some(f.ServeLatestUpdates), IsActive: fields.Some(f.IsActive),
		DefaultLicenseType:      fields.Some(textOrNil(f.DefaultLicenseType)),
		DefaultComments:         fields.Some(textOrNil(f.DefaultComments)),
		DefaultUses:             fields.Some(formInt(verr, "default_uses", f.DefaultUses)),
		DefaultParallelUses:     fields.Some(formInt(verr, "default_parallel_uses", f.DefaultParallelUses)),
		DefaultExpiryDays:       fields.Some(formInt(verr, "default_expiry_days", f.DefaultExpiryDays)),
		DefaultUpdatesUntilDays: fields.Some(formInt(verr, "default_updates_until_days", f.DefaultUpdatesUntilDays)),
		DefaultSupportUntilDays: fields.Some(formInt(verr, "default_support_until_days", f.DefaultSupportUntilDays)),
		GraceDays:               fields.Some(formInt(verr, "grace_days", f.GraceDays)),
		Entitlements:            fields.Some(words(f.Entitlements)),
		DefaultEntitlements:     fields.Some(words(f.DefaultEntitlements)),
		DefaultExpiryStart:      fields.Some(f.DefaultExpiryStart),
		HeartbeatInterval:       fields.Some(formInt(verr, "heartbeat_interval", f.HeartbeatInterval)),
		HeartbeatTolerance:      fields.Some(formInt(verr, "heartbeat_tolerance", f.HeartbeatTolerance)),
		HeartbeatMissed:         fields.Some(f.HeartbeatMissed),
		DefaultFloating:         fields.Some(f.DefaultFloating),
	}
}

// productNew shows the empty create form with the defaults of a new
// product (active, serving the latest updates).
func (h *handlers) productNew(c fiber.Ctx) error {
	return h.renderProductForm(c, fiber.StatusOK, nil, productForm{IsActive: true, ServeLatestUpdates: true}, nil)
}

// productCreate creates the product and opens its page.
func (h *handlers) productCreate(c fiber.Ctx) error {
	form := readProductForm(c)
	var verr fields.Error
	in := form.input(&verr)
	in.ReferenceID = fields.Some(form.ReferenceID)
	var created *catalog.Product
	err := verr.Err()
	if err == nil {
		err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
			set, err := h.currentSettings(ctx)
			if err != nil {
				return err
			}
			created, err = h.catalog.CreateProduct(ctx, tx, source(c), set, in)
			return err
		})
	}
	if verr, ok := fields.As(err); ok {
		return h.renderProductForm(c, fiber.StatusUnprocessableEntity, nil, form, verr.Map())
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Product %s created with reference ID %s.", created.Name, created.ReferenceID))
	return web.Redirect(c, fiber.StatusSeeOther, productPath(created.ID))
}

// renderProductForm draws the create form (p nil) or p's edit form; htmx
// posts get the form alone.
func (h *handlers) renderProductForm(c fiber.Ctx, status int, p *catalog.Product, form productForm, errs map[string]string) error {
	data := fiber.Map{"Section": "products", "Form": form, "Errors": errs}
	page := "admin/products/new"
	if p == nil {
		data["Title"], data["Action"] = "New product", "/admin/products"
	} else {
		page = "admin/products/edit"
		data["Title"], data["Action"], data["Product"] = "Edit "+p.Name, productPath(p.ID)+"/edit", p
	}
	return web.Render(c, status, web.View{Page: page, Layout: "layouts/admin", Fragment: "admin/products/form", Data: data})
}

func productPath(id int64) string { return fmt.Sprintf("/admin/products/%d", id) }

// formInt reads an optional whole number: empty is nil; anything else
// that does not parse is an error on field.
func formInt(verr *fields.Error, field, raw string) *int {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		verr.Add(field, fields.Integer(field))
		return nil
	}
	return &n
}

// textOrNil is nil for a blank value: the domain stores it as absent.
func textOrNil(s string) *string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func intText(n *int) string {
	if n == nil {
		return ""
	}
	return strconv.Itoa(*n)
}
