package admin

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// productColumns are the product list's columns.
var productColumns = []web.Column{
	{Key: "name", Label: "Product", SortKey: "name"},
	{Key: "reference", Label: "Reference ID", SortKey: "reference_id", Optional: true},
	{Key: "latest", Label: "Latest version", Optional: true},
	{Key: "released", Label: "Last release", Optional: true},
	{Key: "licenses", Label: "Licenses", Class: "num", Optional: true},
	{Key: "created", Label: "Created", SortKey: "created_at", Optional: true},
}

// productRow is one line of the list: the product, its newest active
// version and its number of licenses.
type productRow struct {
	catalog.Product
	Latest   *catalog.LatestVersion
	Licenses int
}

// productsFilter is the list's query besides the page.
type productsFilter struct {
	Search, Active, Sort string
	createdRange
}

// productsFilterOf reads the product list's query.
func (h *handlers) productsFilterOf(c fiber.Ctx) (productsFilter, catalog.ProductFilter, error) {
	q := productsFilter{Search: strings.TrimSpace(c.Query("q")), Active: c.Query("active"), Sort: c.Query("sort")}
	var err error
	if q.createdRange, err = h.createdRangeOf(c); err != nil {
		return q, catalog.ProductFilter{}, err
	}
	if !web.IsSort(q.Sort, productColumns) {
		q.Sort = ""
	}
	return q, catalog.ProductFilter{Search: q.Search, IsActive: yesNo(q.Active), CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}, nil
}

// productsIndex lists products: search, the active filter, sort, page and
// page size come from the URL; htmx gets the results alone. Latest
// versions and license counts are one query each for the whole page.
func (h *handlers) productsIndex(c fiber.Ctx) error {
	q, f, err := h.productsFilterOf(c)
	if err != nil {
		return err
	}
	ctx := c.Context()
	page := web.ListPage(c)
	list, total, err := catalog.ListProducts(ctx, h.read(c), f, q.Sort, page)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	latest, err := catalog.LatestVersions(ctx, h.read(c), ids)
	if err != nil {
		return err
	}
	counts, err := catalog.LicenseCounts(ctx, h.read(c), ids)
	if err != nil {
		return err
	}
	rows := make([]productRow, len(list))
	for i, p := range list {
		rows[i] = productRow{Product: p, Latest: latest[p.ID], Licenses: counts[p.ID]}
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "products", Search: "Search name or reference ID", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "active", Label: "Status", Type: "select", Value: q.Active, Options: []web.Option{
				{Value: "", Label: "Active or inactive"}, {Value: "yes", Label: "Active"}, {Value: "no", Label: "Inactive"}}},
			{Name: "from", Label: "Created from", Type: "date", Value: q.From},
			{Name: "to", Label: "Created to", Type: "date", Value: q.To},
		},
		Columns: productColumns, Sort: q.Sort, RowActions: true,
		Bulk: []web.BulkAction{
			{Label: "Activate", Action: "/admin/products/bulk-activate", Confirm: "Activate {n} selected product(s)?"},
			{Label: "Deactivate", Action: "/admin/products/bulk-deactivate", Confirm: "Deactivate {n} selected product(s)? The API will treat them as unknown, except deactivations."},
			{Label: "Delete", Action: "/admin/products/bulk-delete", Danger: true, Confirm: "Delete {n} selected product(s) with all their versions, licenses and activations? This cannot be undone."},
		},
		Links: []web.Link{{Label: "New product", URL: "/admin/products/new", Primary: true}},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/products/index", Layout: "layouts/admin", Fragment: "admin/products/index/results",
		Data: fiber.Map{"Title": "Products", "Section": "products", "Products": rows, "Table": table},
	})
}

// productsMatching are the ids of every product the list's query matches.
func (h *handlers) productsMatching(c fiber.Ctx) ([]int64, error) {
	q, f, err := h.productsFilterOf(c)
	if err != nil {
		return nil, err
	}
	return allIDs(c.Context(), func(ctx context.Context, p listing.Page) ([]int64, int, error) {
		list, total, err := catalog.ListProducts(ctx, h.db, f, q.Sort, p)
		ids := make([]int64, len(list))
		for i := range list {
			ids[i] = list[i].ID
		}
		return ids, total, err
	})
}
