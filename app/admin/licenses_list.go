package admin

import (
	"context"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// licenseColumns are the license list's columns: the code with its status,
// product, customer, activations in use of those allowed and uses left
// fit a laptop; the rest are in the column chooser.
var licenseColumns = []web.Column{
	{Key: "code", Label: "License", SortKey: "license_code"},
	{Key: "product", Label: "Product", Optional: true},
	{Key: "customer", Label: "Customer", SortKey: "customer_id", Optional: true},
	{Key: "email", Label: "Email", SortKey: "email", Optional: true, Hidden: true},
	{Key: "type", Label: "Type", Optional: true, Hidden: true},
	{Key: "activations", Label: "Activations", Class: "num", Optional: true},
	{Key: "uses_left", Label: "Uses left", Class: "num", Optional: true},
	{Key: "expires", Label: "Expires", SortKey: "expires_at", Optional: true},
	{Key: "created", Label: "Created", SortKey: "created_at", Optional: true, Hidden: true},
}

// licensesFilter is the list's query besides the page.
type licensesFilter struct {
	Search, Product, Status, Customer, Sort string
	// Entitlement: licenses carrying it (docs/licensing.md#entitlements).
	Entitlement string
	createdRange
	// customer is the account Customer names (by email or client ID), or
	// a stand-in holding what was typed as a client ID.
	customer *customers.Customer
}

func (q licensesFilter) domain() licensing.LicenseFilter {
	return licensing.LicenseFilter{Search: q.Search, ProductReferenceID: q.Product, Status: q.Status,
		Customer: q.customer, Entitlement: q.Entitlement, CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}
}

// licenseRow is one line of the list: the license, its customer by the
// linking rule (nil when none) and its status now.
type licenseRow struct {
	licensing.License
	Customer *customers.Customer
	State    string
}

// EmailText is the license's email, or "" when it has none.
func (r licenseRow) EmailText() string {
	if r.Email == nil {
		return ""
	}
	return *r.Email
}

// licensesIndex lists licenses: search (code, customer ID, email),
// product, status and created filters, sort, page and page size come from
// the URL.
func (h *handlers) licensesIndex(c fiber.Ctx) error {
	q, err := h.licensesFilterOf(c)
	if err != nil {
		return err
	}
	ctx, now := c.Context(), h.now()
	page := web.ListPage(c)
	list, total, err := licensing.ListLicenses(ctx, h.read(c), q.domain(), q.Sort, page, now)
	if err != nil {
		return err
	}
	refs := make([]customers.LinkRef, len(list))
	for i, l := range list {
		refs[i] = customers.LinkRef{CustomerID: l.CustomerID, Email: l.Email}
	}
	owners, err := customers.LinkedToEach(ctx, h.read(c), refs)
	if err != nil {
		return err
	}
	rows := make([]licenseRow, len(list))
	for i, l := range list {
		rows[i] = licenseRow{License: l, Customer: owners[i], State: l.Status(now)}
	}
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	productOptions := []web.Option{{Value: "", Label: "All products"}}
	for _, p := range products {
		productOptions = append(productOptions, web.Option{Value: p.ReferenceID, Label: p.Name})
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "licenses", Search: "Search code, customer ID or email", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "product", Label: "Product", Type: "select", Options: productOptions, Value: q.Product},
			{Name: "status", Label: "Status", Type: "select", Value: q.Status, Options: []web.Option{
				{Value: "", Label: "Any status"}, {Value: licensing.StatusValid, Label: "Valid"},
				{Value: licensing.StatusExpired, Label: "Expired"}, {Value: licensing.FilterInGrace, Label: "In grace"},
				{Value: licensing.StatusBlocked, Label: "Blocked"}, {Value: licensing.FilterClockPending, Label: "Expiry clock not started"},
			}},
			{Name: "entitlement", Label: "Entitlement", Type: "text", Placeholder: "Has entitlement", Value: q.Entitlement},
			{Name: "customer", Label: "Customer", Type: "text", Placeholder: "Email or client ID", Value: q.Customer},
			{Name: "from", Label: "Created from", Type: "date", Value: q.From},
			{Name: "to", Label: "Created to", Type: "date", Value: q.To},
		},
		Columns: licenseColumns, Sort: q.Sort, RowActions: true,
		Bulk: []web.BulkAction{
			{Label: "Block", Action: "/admin/licenses/bulk-block", Confirm: "Block {n} selected license(s)? Their active activations are freed."},
			{Label: "Unblock", Action: "/admin/licenses/bulk-unblock", Confirm: "Unblock {n} selected license(s)?"},
			{Label: "Send license details", Action: "/admin/licenses/bulk-send-details", Confirm: "Email their details to the {n} selected license(s)' email addresses?"},
			{Label: "Delete", Action: "/admin/licenses/bulk-delete", Danger: true, Confirm: "Delete {n} selected license(s) with their activations? This cannot be undone."},
		},
		Links: []web.Link{
			{Label: "Generate", URL: "/admin/licenses/generate"},
			{Label: "New license", URL: "/admin/licenses/new", Primary: true},
		},
		ExportPath:  "/admin/licenses/export",
		ExtraExport: []web.Link{{Label: "Import…", URL: "/admin/imports?kind=licenses"}},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/licenses/index", Layout: "layouts/admin", Fragment: "admin/licenses/index/results",
		Data: fiber.Map{
			"Title": "Licenses", "Section": "licenses", "Licenses": rows, "Table": table, "Now": now,
		},
	})
}

// licensesMatching are the ids of every license the list's query (in the
// bulk form's URL) matches: "select all M matching".
func (h *handlers) licensesMatching(c fiber.Ctx) ([]int64, error) {
	q, err := h.licensesFilterOf(c)
	if err != nil {
		return nil, err
	}
	var ids []int64
	err = licensing.EachLicense(c.Context(), h.db, q.domain(), h.now(), 1000, func(batch []licensing.License) error {
		for _, l := range batch {
			ids = append(ids, l.ID)
		}
		return nil
	})
	return ids, err
}

// productChoices are the products a license filter or form offers, by name.
func (h *handlers) productChoices(c fiber.Ctx) ([]catalog.Product, error) {
	list, _, err := catalog.ListProducts(c.Context(), h.read(c), catalog.ProductFilter{}, "name", listing.Page{PerPage: listing.MaxPerPage})
	return list, err
}

// productOptions are the choices of a form's product select: name and
// reference ID, with inactive ones marked when markInactive.
func productOptions(products []catalog.Product, markInactive bool) []web.Option {
	list := make([]web.Option, len(products))
	for i, p := range products {
		list[i] = web.Option{Value: p.ReferenceID, Label: p.Name + " (" + p.ReferenceID + ")"}
		if markInactive && !p.IsActive {
			list[i].Label += " — inactive"
		}
	}
	return list
}

// allIDs collects the ids of every row a list function pages through, a
// page of the largest size at a time: "select all M matching" for lists
// without a streaming reader.
func allIDs(ctx context.Context, list func(ctx context.Context, p listing.Page) ([]int64, int, error)) ([]int64, error) {
	var ids []int64
	for n := 1; ; n++ {
		page, total, err := list(ctx, listing.Page{Number: n, PerPage: listing.MaxPerPage})
		if err != nil {
			return nil, err
		}
		ids = append(ids, page...)
		if len(page) == 0 || len(ids) >= total {
			return ids, nil
		}
	}
}

// itoa is strconv.FormatInt for ids in URLs.
func itoa(id int64) string { return strconv.FormatInt(id, 10) }
