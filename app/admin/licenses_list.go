package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

const licensesPerPage = 25

// licenseSortable are the columns the license list sorts by.
var licenseSortable = []sortColumn{
	{"license_code", "License code"}, {"customer_id", "Customer"}, {"email", "Email"},
	{"expires_at", "Expires"}, {"created_at", "Created"},
}

// licensesFilter is the list's query besides the page.
type licensesFilter struct {
	Search, Product, Status, Sort string
	createdRange
}

// licensesIndex lists licenses: search (code, customer ID, email),
// product and status filters, sort and page come from the URL.
func (h *handlers) licensesIndex(c fiber.Ctx) error {
	q, err := h.licensesFilterOf(c)
	if err != nil {
		return err
	}
	ctx, now := c.Context(), h.now()
	page := web.PageOf(c, licensesPerPage)
	list, total, err := licensing.ListLicenses(ctx, h.db,
		licensing.LicenseFilter{Search: q.Search, ProductReferenceID: q.Product, Status: q.Status,
			CreatedFrom: q.fromAt, CreatedTo: q.beforeAt}, q.Sort, page, now)
	if err != nil {
		return err
	}
	products, err := h.productChoices(c)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/licenses/index", Layout: "layouts/admin", Fragment: "admin/licenses/index/results",
		Data: fiber.Map{
			"Title": "Licenses", "Section": "licenses", "Licenses": list, "Filter": q, "Products": products, "Now": now,
			"Filtered":   q.Search != "" || q.Product != "" || q.Status != "" || q.set(),
			"Sorts":      sortHeaders(c, q.Sort, licenseSortable),
			"Back":       c.OriginalURL(),
			"Export":     exportLinks(c, "/admin/licenses/export"),
			"Pagination": web.Paginate(c, page, total),
		},
	})
}

// productChoices are the products a license filter or form offers, by name.
func (h *handlers) productChoices(c fiber.Ctx) ([]catalog.Product, error) {
	list, _, err := catalog.ListProducts(c.Context(), h.db, catalog.ProductFilter{}, "name", listing.Page{PerPage: listing.MaxPerPage})
	return list, err
}
