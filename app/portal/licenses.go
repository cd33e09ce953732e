package portal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/signing"
	"github.com/licensor/licensor/app/web"
)

const licensesPerPage = 25

// licenseRow is what the license pages show of one license, formatted.
type licenseRow struct {
	ID                                  int64
	Product, Code, Masked, Type, Status string
	Expires, UpdatesUntil, SupportUntil string
	Activations, UsesLeft               string
	ActiveActivations                   int
}

func presentLicense(l *licensing.License, now time.Time) licenseRow {
	typ := "—"
	if l.Type != nil && *l.Type != "" {
		typ = *l.Type
	}
	allowed := "Unlimited"
	if l.ParallelUses != nil {
		allowed = strconv.Itoa(*l.ParallelUses)
	}
	usesLeft := "Unlimited"
	if n := l.UsesLeft(); n != nil {
		usesLeft = strconv.Itoa(*n)
	}
	return licenseRow{
		ID: l.ID, Product: l.ProductName, Code: l.LicenseCode, Masked: maskCode(l.LicenseCode),
		Type: typ, Status: l.Status(now),
		Expires: dateOr(l.ExpiresAt, "Lifetime"), UpdatesUntil: dateOr(l.UpdatesUntil, "—"), SupportUntil: dateOr(l.SupportUntil, "—"),
		Activations:       fmt.Sprintf("%d of %s", l.ActiveActivations, allowed),
		UsesLeft:          usesLeft,
		ActiveActivations: l.ActiveActivations,
	}
}

// maskCode keeps the first and last four characters of a code.
func maskCode(code string) string {
	r := []rune(code)
	if len(r) <= 8 {
		return strings.Repeat("•", len(r))
	}
	return string(r[:4]) + strings.Repeat("•", 8) + string(r[len(r)-4:])
}

func dateOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.UTC().Format("2006-01-02")
}

func dateTime(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// licensesPageOn answers 404 when customer_page_licenses is off.
func (h *handlers) licensesPageOn(c fiber.Ctx) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	if !set.CustomerPageLicenses {
		return fiber.ErrNotFound
	}
	return c.Next()
}

// activationsPageOn answers 404 when customer_page_activations is off.
func (h *handlers) activationsPageOn(c fiber.Ctx) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	if !set.CustomerPageActivations {
		return fiber.ErrNotFound
	}
	return c.Next()
}

// licenses lists the signed-in customer's licenses (linking rule).
func (h *handlers) licenses(c fiber.Ctx) error {
	now := h.now()
	page := web.PageOf(c, licensesPerPage)
	ls, total, err := licensing.ListLicenses(c.Context(), h.db, licensing.LicenseFilter{Customer: current(c)}, "", page, now)
	if err != nil {
		return fmt.Errorf("portal licenses: %w", err)
	}
	rows := make([]licenseRow, len(ls))
	for i := range ls {
		rows[i] = presentLicense(&ls[i], now)
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/licenses", Layout: "layouts/portal",
		Data: fiber.Map{"Title": "Licenses", "Licenses": rows, "Pagination": web.Paginate(c, page, total)},
	})
}

// ownLicense is license :id when it is the signed-in customer's; 404
// otherwise (also for ids that are not numbers).
func (h *handlers) ownLicense(c fiber.Ctx) (*licensing.License, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	l, err := licensing.CustomerLicense(c.Context(), h.db, current(c), id)
	if errors.Is(err, licensing.ErrNotFound) {
		return nil, fiber.ErrNotFound
	}
	return l, err
}

// license shows one of the customer's licenses with its activations.
func (h *handlers) license(c fiber.Ctx) error {
	l, err := h.ownLicense(c)
	if err != nil {
		return err
	}
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	acts, err := h.activationRows(c, licensing.ActivationFilter{LicenseID: l.ID, Customer: current(c)})
	if err != nil {
		return err
	}
	latest, err := h.latestFor(c.Context(), l, h.now())
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/license", Layout: "layouts/portal",
		Data: fiber.Map{
			"Title": l.ProductName + " license", "License": presentLicense(l, h.now()), "Activations": acts,
			"CanDeactivate": set.AllowCustomerDeactivation, "Latest": latest,
		},
	})
}

// licenseCode is the htmx fragment revealing the full code.
func (h *handlers) licenseCode(c fiber.Ctx) error {
	l, err := h.ownLicense(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/license-code", Data: fiber.Map{"Code": l.LicenseCode},
	})
}

// licenseFile downloads the license's signed license file (api.md §7.3),
// named <reference>_<code>.lic, built as the internal API builds it.
func (h *handlers) licenseFile(c fiber.Ctx) error {
	l, err := h.ownLicense(c)
	if err != nil {
		return err
	}
	if h.signing == nil {
		return errors.New("portal: no signing key ring")
	}
	cu := current(c)
	file, err := h.signing.SignLicenseFile(licenseFileOf(l, cu, h.now()))
	if err != nil {
		return fmt.Errorf("portal license file: %w", err)
	}
	c.Attachment(l.ProductReferenceID + "_" + l.LicenseCode + ".lic")
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(file)
}

// licenseFileOf names the linked customer (the signed-in one) in the file.
func licenseFileOf(l *licensing.License, cu *customers.Customer, now time.Time) signing.LicenseFile {
	return signing.LicenseFile{
		LicenseCode: l.LicenseCode, ProductRef: l.ProductReferenceID, ProductName: l.ProductName,
		ClientID: &cu.ClientID, Email: &cu.Email, Type: l.Type,
		ExpiresAt: l.ExpiresAt, UpdatesUntil: l.UpdatesUntil, SupportUntil: l.SupportUntil,
		ParallelUses: l.ParallelUses, Domains: l.Domains, IPs: l.IPs, IssuedAt: now,
	}
}
