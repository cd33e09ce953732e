package admin

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// licenseForm is what the create and edit forms post, as typed. Dates are
// YYYY-MM-DD in the settings' timezone; domains and IPs one per line.
type licenseForm struct {
	Product, LicenseCode, Type, CustomerID, Email, Invoice, Comments string
	Uses, ParallelUses, ExpiryDays                                   string
	ExpiresAt, UpdatesUntil, SupportUntil                            string
	Domains, IPs                                                     string
	// Entitlements are names separated by spaces or commas
	// (docs/licensing.md#entitlements).
	Entitlements string
	// ExpiryStart is when expiry days start counting
	// (docs/licensing.md#expiry-clock); empty keeps the product's default
	// on create and the stored value on edit.
	ExpiryStart       string
	IsValid, IsEnvato bool
	// Floating is "1" (floating), "0" (not) or, on create, "" for the
	// product's default_floating (docs/licensing.md#floating-licenses);
	// the heartbeat overrides
	// (docs/licensing.md#heartbeats-and-automatic-release), empty: the
	// product's.
	Floating                           string
	HeartbeatInterval, HeartbeatMissed string
}

// floatingOf is the form's value of a floating flag.
func floatingOf(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// readLicenseForm reads the form from the body (posts) or the query (the
// create form refreshed when its product changes).
func readLicenseForm(c fiber.Ctx) licenseForm {
	v := c.FormValue
	if c.Method() == fiber.MethodGet {
		v = func(k string, _ ...string) string { return c.Query(k) }
	}
	return licenseForm{
		Product: v("product"), LicenseCode: v("license_code"), Type: v("type"), CustomerID: v("customer_id"),
		Email: v("email"), Invoice: v("invoice"), Comments: v("comments"),
		Uses: v("uses"), ParallelUses: v("parallel_uses"), ExpiryDays: v("expiry_days"),
		ExpiresAt: v("expires_at"), UpdatesUntil: v("updates_until"), SupportUntil: v("support_until"),
		Domains: v("domains"), IPs: v("ips"), IsValid: v("is_valid") == "1", IsEnvato: v("is_envato") == "1",
		Entitlements: v("entitlements"), ExpiryStart: v("expiry_start"),
		Floating: strings.TrimSpace(v("floating")), HeartbeatInterval: v("heartbeat_interval"), HeartbeatMissed: v("heartbeat_missed"),
	}
}

func licenseFormOf(l *licensing.License, loc *time.Location) licenseForm {
	date := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format(time.DateOnly)
	}
	return licenseForm{
		Product: l.ProductReferenceID, LicenseCode: l.LicenseCode, Type: deref(l.Type), CustomerID: deref(l.CustomerID),
		Email: deref(l.Email), Invoice: deref(l.Invoice), Comments: deref(l.Comments),
		Uses: intText(l.Uses), ParallelUses: intText(l.ParallelUses), ExpiryDays: intText(l.ExpiryDays),
		ExpiresAt: date(l.ExpiresAt), UpdatesUntil: date(l.UpdatesUntil), SupportUntil: date(l.SupportUntil),
		Domains: strings.Join(l.Domains, "\n"), IPs: strings.Join(l.IPs, "\n"), IsValid: l.IsValid, IsEnvato: l.IsEnvato,
		Entitlements: strings.Join(l.Entitlements, " "), ExpiryStart: l.ExpiryStart,
		Floating: floatingOf(l.Floating), HeartbeatInterval: intText(l.HeartbeatInterval), HeartbeatMissed: deref(l.HeartbeatMissed),
	}
}

// input turns the form into a LicenseInput; values that do not parse are
// reported in verr under their field.
func (f licenseForm) input(verr *fields.Error, loc *time.Location) licensing.LicenseInput {
	date := func(field, raw string) *time.Time {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			return nil
		}
		t, err := time.ParseInLocation(time.DateOnly, raw, loc)
		if err != nil {
			verr.Add(field, fields.Date(field))
			return nil
		}
		return &t
	}
	floating := fields.Optional[bool]{}
	switch f.Floating {
	case "":
	case "1":
		floating = fields.Some(true)
	case "0":
		floating = fields.Some(false)
	default:
		verr.Add("floating", fields.Selected("floating"))
	}
	return licensing.LicenseInput{
		Type: fields.Some(textOrNil(f.Type)), CustomerID: fields.Some(textOrNil(f.CustomerID)),
		Email: fields.Some(textOrNil(f.Email)), Invoice: fields.Some(textOrNil(f.Invoice)), Comments: fields.Some(textOrNil(f.Comments)),
		Uses:         fields.Some(formInt(verr, "uses", f.Uses)),
		ParallelUses: fields.Some(formInt(verr, "parallel_uses", f.ParallelUses)),
		ExpiryDays:   fields.Some(formInt(verr, "expiry_days", f.ExpiryDays)),
		ExpiryStart:  fields.Some(f.ExpiryStart),
		ExpiresAt:    fields.Some(date("expires_at", f.ExpiresAt)),
		UpdatesUntil: fields.Some(date("updates_until", f.UpdatesUntil)),
		SupportUntil: fields.Some(date("support_until", f.SupportUntil)),
		Domains:      fields.Some(lines(f.Domains)), IPs: fields.Some(lines(f.IPs)),
		Entitlements: fields.Some(words(f.Entitlements)),
		IsValid:      fields.Some(f.IsValid), IsEnvato: fields.Some(f.IsEnvato),
		Floating:          floating,
		HeartbeatInterval: fields.Some(formInt(verr, "heartbeat_interval", f.HeartbeatInterval)),
		HeartbeatMissed:   fields.Some(textOrNil(f.HeartbeatMissed)),
	}
}

// words splits names separated by spaces or commas.
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// applyDefaults fills the form with product p's license defaults d.
func (f *licenseForm) applyDefaults(p *catalog.Product, d productDefaults) {
	f.Type, f.Uses, f.ParallelUses, f.ExpiryDays = d.Type, d.Uses, d.ParallelUses, d.ExpiryDays
	f.UpdatesUntil, f.SupportUntil, f.Comments = d.UpdatesUntil, d.SupportUntil, d.Comments
	f.ExpiryStart, f.Floating = d.ExpiryStart, d.Floating
	f.Entitlements = strings.Join(p.DefaultEntitlements, " ")
}

// licenseNew shows the create form. With ?product= (the product select
// refreshing the form through htmx, or a link from a product's page) the
// product's license defaults are filled in; other typed values are kept.
func (h *handlers) licenseNew(c fiber.Ctx) error {
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	form := readLicenseForm(c)
	form.IsValid = true
	if form.Product != "" {
		p, err := catalog.ByRef(c.Context(), h.db, form.Product)
		if err := errkind.IgnoreNotFound(err); err != nil {
			return err
		}
		if p != nil { // a product named that does not exist prefills nothing
			form.applyDefaults(p, defaultsOf(p, h.now().In(set.Location())))
		}
	}
	return h.renderLicenseForm(c, fiber.StatusOK, nil, form, nil)
}

// licenseCreate creates the license (the code is generated when empty; the
// product's defaults fill what the form leaves empty) and opens its page.
func (h *handlers) licenseCreate(c fiber.Ctx) error {
	form := readLicenseForm(c)
	var created *licensing.License
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		var verr fields.Error
		in := form.input(&verr, set.Location())
		if err := verr.Err(); err != nil {
			return err
		}
		in.ProductReferenceID, in.LicenseCode = fields.Some(form.Product), fields.Some(form.LicenseCode)
		if strings.TrimSpace(form.Entitlements) == "" {
			// Left empty, a new license takes its product's defaults.
			in.Entitlements = fields.Optional[[]string]{}
		}
		created, err = h.licensing.CreateLicense(ctx, tx, source(c), set, in)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderLicenseForm(c, fiber.StatusUnprocessableEntity, nil, form, licenseErrors(verr))
	}
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("License %s created.", created.LicenseCode))
	return web.Redirect(c, fiber.StatusSeeOther, licensePath(created.ID))
}

// renderLicenseForm draws the create form (l nil) or l's edit form; htmx
// posts get the form alone.
func (h *handlers) renderLicenseForm(c fiber.Ctx, status int, l *licensing.License, form licenseForm, errs map[string]string) error {
	data := fiber.Map{"Section": "licenses", "Form": form, "Errors": errs}
	page := "admin/licenses/new"
	if l == nil {
		products, err := h.productChoices(c)
		if err != nil {
			return err
		}
		data["Title"], data["Action"], data["ProductOptions"] = "New license", "/admin/licenses", productOptions(products, true)
	} else {
		page = "admin/licenses/edit"
		data["Title"], data["Action"], data["License"] = "Edit "+l.LicenseCode, licensePath(l.ID)+"/edit", l
	}
	return web.Render(c, status, web.View{Page: page, Layout: "layouts/admin", Fragment: "admin/licenses/form", Data: data})
}

// licenseErrors puts the messages of list entries (domains.2, ips.0) under
// their list's field, where the form shows them.
func licenseErrors(verr *fields.Error) map[string]string {
	m := verr.Map()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if list, index, ok := strings.Cut(k, "."); ok {
			if _, has := m[list]; !has {
				m[list] = entryMessage(list, index, m[k])
			}
		}
	}
	// The API's field is the product's reference; the form's is Product.
	if msg, ok := m["product_reference_id"]; ok {
		msg = strings.Replace(msg, "The product reference id field", "The product field", 1)
		m["product_reference_id"] = strings.Replace(msg, "The selected product reference id", "The selected product", 1)
	}
	return m
}

// listEntryNames are how the license form names one line of its lists.
var listEntryNames = map[string]string{"domains": "Domain", "ips": "IP"}

// entryMessage names a list entry as the form shows it, by its line
// ("Domain 2 must be a valid domain name."), where the domain's message
// names the API's field ("The domains.1 field must be …").
func entryMessage(list, index, msg string) string {
	i, err := strconv.Atoi(index)
	name, known := listEntryNames[list]
	if err != nil || !known {
		return msg
	}
	field := "The " + fields.Label(list+"."+index) + " field"
	if !strings.HasPrefix(msg, field) {
		return msg
	}
	return fmt.Sprintf("%s %d%s", name, i+1, strings.TrimPrefix(msg, field))
}

func licensePath(id int64) string { return fmt.Sprintf("/admin/licenses/%d", id) }

// lines splits a textarea into its non-blank lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
