package admin

import (
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/web"
)

const productsPerPage = 25

// productSortable are the columns the product list sorts by.
var productSortable = []sortColumn{
	{"name", "Name"}, {"reference_id", "Reference ID"}, {"created_at", "Created"},
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

// productsIndex lists products: search, the active filter, sort and page
// come from the URL; htmx gets the results alone. Latest versions and
// license counts are one query each for the whole page.
func (h *handlers) productsIndex(c fiber.Ctx) error {
	q := productsFilter{Search: strings.TrimSpace(c.Query("q")), Active: c.Query("active"), Sort: c.Query("sort")}
	var err error
	if q.createdRange, err = h.createdRangeOf(c); err != nil {
		return err
	}
	f := catalog.ProductFilter{Search: q.Search, IsActive: yesNo(q.Active), CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}
	if !isSort(q.Sort, productSortable) {
		q.Sort = ""
	}
	ctx := c.Context()
	page := web.PageOf(c, productsPerPage)
	list, total, err := catalog.ListProducts(ctx, h.db, f, q.Sort, page)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	latest, err := catalog.LatestVersions(ctx, h.db, ids)
	if err != nil {
		return err
	}
	counts, err := catalog.LicenseCounts(ctx, h.db, ids)
	if err != nil {
		return err
	}
	rows := make([]productRow, len(list))
	for i, p := range list {
		rows[i] = productRow{Product: p, Latest: latest[p.ID], Licenses: counts[p.ID]}
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/products/index", Layout: "layouts/admin", Fragment: "admin/products/index/results",
		Data: fiber.Map{
			"Title": "Products", "Section": "products", "Products": rows, "Filter": q,
			"Filtered":   q.Search != "" || f.IsActive != nil || q.set(),
			"Sorts":      sortHeaders(c, q.Sort, productSortable),
			"Back":       c.OriginalURL(),
			"Pagination": web.Paginate(c, page, total),
		},
	})
}
