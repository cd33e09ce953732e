package portal

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// licenseRow is what the license pages show of one license, formatted.
type licenseRow struct {
	ID                                  int64
	Product, Code, Masked, Type, Status string
	Expires, UpdatesUntil, SupportUntil string
	// GraceUntil is set while an expired license is in its grace period
	// (docs/api/external.md#grace-period).
	GraceUntil            string
	Activations, UsesLeft string
	// Entitlements are the license's feature names
	// (docs/licensing.md#entitlements).
	Entitlements      []string
	ActiveActivations int
	// ExpiryClock says when a license with expiry days started, or will
	// start, its expiry clock (docs/licensing.md#expiry-clock); "" for a
	// license without one.
	ExpiryClock string
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
	graceUntil := ""
	if l.InGrace(now) {
		graceUntil = dateOr(l.GraceUntil(), "")
	}
	expires := dateOr(l.ExpiresAt, "Lifetime")
	if l.ClockPending() {
		// Not lifetime: the expiry clock has yet to start.
		expires = fmt.Sprintf("%d days after the clock starts", *l.ExpiryDays)
	}
	return licenseRow{
		GraceUntil: graceUntil, Entitlements: l.Entitlements, ExpiryClock: expiryClock(l),
		ID: l.ID, Product: l.ProductName, Code: l.LicenseCode, Masked: maskCode(l.LicenseCode),
		Type: typ, Status: l.Status(now),
		Expires: expires, UpdatesUntil: dateOr(l.UpdatesUntil, "—"), SupportUntil: dateOr(l.SupportUntil, "—"),
		Activations:       fmt.Sprintf("%d of %s", l.ActiveActivations, allowed),
		UsesLeft:          usesLeft,
		ActiveActivations: l.ActiveActivations,
	}
}

// expiryClock is the portal's line about l's expiry clock.
func expiryClock(l *licensing.License) string {
	if l.ExpiryDays == nil || *l.ExpiryDays <= 0 {
		return ""
	}
	switch {
	case l.ClockPending():
		return fmt.Sprintf("%d days, starting %s (not started yet)", *l.ExpiryDays, l.ExpiryStartLabel())
	case l.ExpiryStartedAt != nil:
		return fmt.Sprintf("%d days, started %s on %s", *l.ExpiryDays, l.ExpiryStartLabel(), dateOr(l.ExpiryStartedAt, ""))
	}
	return ""
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

// licenseColumns are the portal license list's columns.
var licenseColumns = []web.Column{
	{Key: "code", Label: "License"},
	{Key: "product", Label: "Product", Optional: true},
	{Key: "type", Label: "Type", Optional: true, Hidden: true},
	{Key: "expires", Label: "Expires", Optional: true},
	{Key: "updates", Label: "Updates until", Optional: true},
	{Key: "support", Label: "Support until", Optional: true},
	{Key: "activations", Label: "Activations", Class: "num", Optional: true},
	{Key: "uses_left", Label: "Uses left", Class: "num", Optional: true},
}

// licenses lists the signed-in customer's licenses (linking rule),
// searched by code, paged; "Get more licenses" leads to the shop when
// get_more_licenses_url is set.
func (h *handlers) licenses(c fiber.Ctx) error {
	now := h.now()
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	search := strings.TrimSpace(c.Query("q"))
	page := web.ListPage(c)
	ls, total, err := licensing.ListLicenses(c.Context(), h.read(c), licensing.LicenseFilter{Customer: current(c), Code: search}, "", page, now)
	if err != nil {
		return fmt.Errorf("portal licenses: %w", err)
	}
	rows := make([]licenseRow, len(ls))
	for i := range ls {
		rows[i] = presentLicense(&ls[i], now)
	}
	spec := web.TableSpec{ID: "portal-licenses", Search: "Search license code", SearchValue: search, Columns: licenseColumns}
	spec.Links = []web.Link{{Label: "Offline activation", URL: "/customer/offline-activation"}}
	if set.GetMoreLicensesURL != "" {
		spec.Links = append(spec.Links, web.Link{Label: "Get more licenses", URL: set.GetMoreLicensesURL, Primary: true})
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/licenses", Layout: "layouts/portal", Fragment: "portal/licenses/results",
		Data: fiber.Map{"Title": "Licenses", "Licenses": rows, "Table": web.NewTable(c, spec, page, total)},
	})
}

// ownLicense is license :id when it is the signed-in customer's, read
// from idb; 404 otherwise (also for ids that are not numbers).
func (h *handlers) ownLicense(c fiber.Ctx, idb bun.IDB) (*licensing.License, error) {
	id, err := strconv.ParseInt(c.Params("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, fiber.ErrNotFound
	}
	l, err := licensing.CustomerLicense(c.Context(), idb, current(c), id)
	return l, err
}

// license shows one of the customer's licenses with its activations.
func (h *handlers) license(c fiber.Ctx) error {
	l, err := h.ownLicense(c, h.read(c))
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
	latest, err := h.latestFor(c.Context(), h.read(c), l, h.now())
	if err != nil {
		return err
	}
	renewals, err := licensing.Renewals(c.Context(), h.read(c), l.ID)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/license", Layout: "layouts/portal",
		Data: fiber.Map{
			"Title": l.ProductName + " license", "License": presentLicense(l, h.now()), "Activations": acts,
			"CanDeactivate": set.AllowCustomerDeactivation, "Latest": latest, "Renewals": renewals,
			"Table": activationTable(c, "license-activations", set.AllowCustomerDeactivation, listing.Page{PerPage: listing.MaxPerPage}, len(acts)),
		},
	})
}

// licenseCode is the htmx fragment revealing the full code.
func (h *handlers) licenseCode(c fiber.Ctx) error {
	l, err := h.ownLicense(c, h.read(c))
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "portal/license-code", Data: fiber.Map{"Code": l.LicenseCode},
	})
}

// licenseFile downloads the license's signed license file (docs/api/signing.md#license-files),
// named <reference>_<code>.lic, built as the internal API builds it.
//
// It reads the primary: a signed file is not issued from a replica's
// state older than a block or an expiry change.
func (h *handlers) licenseFile(c fiber.Ctx) error {
	l, err := h.ownLicense(c, h.db)
	if err != nil {
		return err
	}
	if h.signing == nil {
		return errors.New("portal: no signing key ring")
	}
	name, file, err := licensing.LicenseFile(h.signing, l, current(c), h.now())
	if err != nil {
		return fmt.Errorf("portal license file: %w", err)
	}
	c.Attachment(name)
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(file)
}
