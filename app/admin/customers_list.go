package admin

import (
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/web"
)

// customerColumns are the customer list's columns: the name (linked, with
// the client ID under it), email, licenses, created and last login.
var customerColumns = []web.Column{
	{Key: "name", Label: "Customer", SortKey: "name"},
	{Key: "email", Label: "Email", SortKey: "email", Optional: true},
	{Key: "licenses", Label: "Licenses", Class: "num", Optional: true},
	{Key: "confirmed", Label: "Confirmed", Optional: true},
	{Key: "created", Label: "Created", SortKey: "created_at", Optional: true},
	{Key: "last_login", Label: "Last login", SortKey: "last_login_at", Optional: true},
}

// customerRow is one line of the list: the account and its license count
// by the linking rule.
type customerRow struct {
	customers.Customer
	Licenses int
}

// customersFilter is the list's query: what the URL holds besides the page.
type customersFilter struct {
	Search, Confirmed, HasLicenses, Sort string
	createdRange
}

// customersIndex lists customers: search, filters, sort, page and page
// size come from the URL, so a view can be bookmarked; htmx gets the
// results alone.
func (h *handlers) customersIndex(c fiber.Ctx) error {
	q, f, err := h.customersFilterOf(c)
	if err != nil {
		return err
	}
	page := web.ListPage(c)
	list, total, err := customers.List(c.Context(), h.read(c), f, q.Sort, page)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	counts, err := customers.LicenseCounts(c.Context(), h.read(c), ids)
	if err != nil {
		return err
	}
	rows := make([]customerRow, len(list))
	for i, cu := range list {
		rows[i] = customerRow{Customer: cu, Licenses: counts[cu.ID]}
	}
	yesNoOptions := func(any, yes, no string) []web.Option {
		return []web.Option{{Value: "", Label: any}, {Value: "yes", Label: yes}, {Value: "no", Label: no}}
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "customers", Search: "Search name, email or client ID", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "confirmed", Label: "Email", Type: "select", Value: q.Confirmed, Options: yesNoOptions("Confirmed or not", "Confirmed", "Unconfirmed")},
			{Name: "licenses", Label: "Licenses", Type: "select", Value: q.HasLicenses, Options: yesNoOptions("With or without licenses", "Has licenses", "No licenses")},
			{Name: "from", Label: "Created from", Type: "date", Value: q.From},
			{Name: "to", Label: "Created to", Type: "date", Value: q.To},
		},
		Columns: customerColumns, Sort: q.Sort, RowActions: true,
		Bulk: []web.BulkAction{
			{Label: "Delete", Action: "/admin/customers/bulk-delete", Danger: true,
				Confirm: "Delete {n} selected customer(s)? Their licenses are kept; update the licenses' customer_id where needed."},
		},
		Links:       []web.Link{{Label: "New customer", URL: "/admin/customers/new", Primary: true}},
		ExportPath:  "/admin/customers/export",
		ExtraExport: []web.Link{{Label: "Import…", URL: "/admin/imports?kind=customers"}},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/customers/index", Layout: "layouts/admin", Fragment: "admin/customers/index/results",
		Data: fiber.Map{"Title": "Customers", "Section": "customers", "Customers": rows, "Table": table},
	})
}

// trimmed is a search box's value without surrounding spaces.
func trimmed(s string) string { return strings.TrimSpace(s) }

// yesNo reads a "yes"/"no" filter; anything else does not filter.
func yesNo(v string) *bool {
	switch v {
	case "yes":
		b := true
		return &b
	case "no":
		b := false
		return &b
	}
	return nil
}
