package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/imports"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/web"
)

// sessionGenerated holds the ids of the admin's last bulk generation
// (comma-separated), so the result page and its CSV survive a reload
// without the ids travelling in the URL.
const sessionGenerated = "generated_licenses"

const generatedPath = "/admin/licenses/generated"

// licensesGenerateForm shows the bulk generation form: product, how many,
// and the license fields, filled with the product's defaults when
// ?product= is given (the product select refreshes the form through htmx).
func (h *handlers) licensesGenerateForm(c fiber.Ctx) error {
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	form := readLicenseForm(c)
	form.IsValid = true
	count := c.Query("count", "10")
	if form.Product != "" {
		p, err := catalog.ByRef(c.Context(), h.db, form.Product)
		if err := errkind.IgnoreNotFound(err); err != nil {
			return err
		}
		if p != nil { // a product named that does not exist prefills nothing
			form.applyDefaults(p, defaultsOf(p, h.now().In(set.Location())))
		}
	}
	return h.renderGenerateForm(c, fiber.StatusOK, form, count, nil)
}

// licensesGenerate creates 2–500 licenses of one product with generated
// codes in one transaction and opens the page listing them.
func (h *handlers) licensesGenerate(c fiber.Ctx) error {
	form := readLicenseForm(c)
	count := strings.TrimSpace(c.FormValue("count"))
	var created []*licensing.License
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		var verr fields.Error
		n := formInt(&verr, "count", count)
		if n == nil && !verr.Has("count") {
			verr.Add("count", fields.Required("count"))
		}
		in := form.input(&verr, set.Location())
		if err := verr.Err(); err != nil {
			return err
		}
		in.ProductReferenceID = fields.Some(form.Product)
		if strings.TrimSpace(form.Entitlements) == "" {
			// Left empty, new licenses take their product's defaults.
			in.Entitlements = fields.Optional[[]string]{}
		}
		created, err = h.licensing.GenerateLicenses(ctx, tx, source(c), set, in, *n)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderGenerateForm(c, fiber.StatusUnprocessableEntity, form, count, licenseErrors(verr))
	}
	if err != nil {
		return err
	}
	ids := make([]string, len(created))
	for i, l := range created {
		ids[i] = strconv.FormatInt(l.ID, 10)
	}
	if sess := web.Session(c); sess != nil {
		sess.Set(sessionGenerated, strings.Join(ids, ","))
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Generated %s for %s.", plural(len(created), "license", "licenses"), created[0].ProductName))
	return web.Redirect(c, fiber.StatusSeeOther, generatedPath)
}

// licensesGenerated lists the codes of the admin's last bulk generation,
// with a CSV download of them.
func (h *handlers) licensesGenerated(c fiber.Ctx) error {
	list, err := h.lastGenerated(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/licenses/generated", Layout: "layouts/admin",
		Data: fiber.Map{"Title": "Generated licenses", "Section": "licenses", "Licenses": list, "Now": h.now()},
	})
}

// licensesGeneratedCSV downloads the codes of the last bulk generation.
func (h *handlers) licensesGeneratedCSV(c fiber.Ctx) error {
	list, err := h.lastGenerated(c)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fiber.ErrNotFound
	}
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	date := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(set.Location()).Format(time.DateOnly)
	}
	// The one CSV writer of every export (imports.Neutralise).
	format := imports.CSV()
	var b strings.Builder
	w := format.NewWriter(&b, []string{"license_code", "product_reference_id", "type", "customer_id", "email", "uses", "parallel_uses", "expires_at", "updates_until", "support_until"})
	for _, l := range list {
		if err := w.Write(map[string]string{
			"license_code": l.LicenseCode, "product_reference_id": l.ProductReferenceID, "type": deref(l.Type), "customer_id": deref(l.CustomerID),
			"email": deref(l.Email), "uses": intText(l.Uses), "parallel_uses": intText(l.ParallelUses),
			"expires_at": date(l.ExpiresAt), "updates_until": date(l.UpdatesUntil), "support_until": date(l.SupportUntil),
		}); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, format.ContentType)
	c.Set(fiber.HeaderContentDisposition, fmt.Sprintf(`attachment; filename="licenses-%s-%d.csv"`, list[0].ProductReferenceID, len(list)))
	return c.SendString(b.String())
}

// lastGenerated reads the licenses of the session's last generation that
// still exist, in the order they were made.
func (h *handlers) lastGenerated(c fiber.Ctx) ([]licensing.License, error) {
	sess := web.Session(c)
	if sess == nil {
		return nil, nil
	}
	raw, _ := sess.Get(sessionGenerated).(string)
	var ids []int64
	for _, s := range strings.Split(raw, ",") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return licensing.GetMany(c.Context(), h.db, ids)
}

func (h *handlers) renderGenerateForm(c fiber.Ctx, status int, form licenseForm, count string, errs map[string]string) error {
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	return web.Render(c, status, web.View{
		Page: "admin/licenses/generate", Layout: "layouts/admin", Fragment: "admin/licenses/form",
		Data: fiber.Map{
			"Title": "Generate licenses", "Section": "licenses", "Form": form, "Errors": errs, "ProductOptions": productOptions(products, true),
			"Action": "/admin/licenses/generate", "Generate": true, "Count": count,
			"GenerateMin": licensing.GenerateMin, "GenerateMax": licensing.GenerateMax,
		},
	})
}
