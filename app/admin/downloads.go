package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/web"
)

// downloadColumns are the download log's columns.
var downloadColumns = []web.Column{
	{Key: "time", Label: "Time"},
	{Key: "product", Label: "Product", Optional: true},
	{Key: "version", Label: "Version", Optional: true},
	{Key: "type", Label: "Type", Optional: true, Hidden: true},
	{Key: "source", Label: "Source", Optional: true, Hidden: true},
	{Key: "download", Label: "Download ID", Optional: true, Hidden: true},
	{Key: "license", Label: "License", Optional: true},
	{Key: "url", Label: "URL", Optional: true},
	{Key: "ip", Label: "IP", Optional: true, Hidden: true},
	{Key: "outcome", Label: "Outcome", Optional: true},
}

// downloadsFilter is the list's query besides the page.
type downloadsFilter struct {
	Search, Product, Version, Outcome string
}

// downloadsFilterOf reads the download log's query; products are the
// filter's choices.
func (h *handlers) downloadsFilterOf(c fiber.Ctx) (downloadsFilter, downloads.Filter, []catalog.Product, error) {
	q := downloadsFilter{
		Search: strings.TrimSpace(c.Query("q")), Product: c.Query("product"),
		Version: strings.TrimSpace(c.Query("version")), Outcome: c.Query("outcome"),
	}
	products, err := h.productChoices(c)
	if err != nil {
		return q, downloads.Filter{}, nil, err
	}
	f := downloads.Filter{Search: q.Search, Version: q.Version}
	if q.Product != "" {
		for _, p := range products {
			if strings.EqualFold(p.ReferenceID, q.Product) {
				f.ProductID = p.ID
			}
		}
		if f.ProductID == 0 {
			q.Product = ""
		}
	}
	switch q.Outcome {
	case "valid":
		f.Valid = "1"
	case "refused":
		f.Valid = "0"
	default:
		q.Outcome = ""
	}
	return q, f, products, nil
}

// downloadsIndex is the update-download log: every attempt, valid or
// refused with its reason; search, product, version and outcome filters,
// page and page size come from the URL.
func (h *handlers) downloadsIndex(c fiber.Ctx) error {
	q, f, products, err := h.downloadsFilterOf(c)
	if err != nil {
		return err
	}
	page := web.ListPage(c)
	list, total, err := downloads.List(c.Context(), h.db, f, page)
	if err != nil {
		return err
	}
	productOptions := []web.Option{{Value: "", Label: "All products"}}
	for _, p := range products {
		productOptions = append(productOptions, web.Option{Value: p.ReferenceID, Label: p.Name})
	}
	table := web.NewTable(c, h.allowed(currentAdmin(c), web.TableSpec{
		ID: "downloads", Search: "Download ID, license code, domain or IP", SearchValue: q.Search,
		Filters: []web.Filter{
			{Name: "product", Label: "Product", Type: "select", Options: productOptions, Value: q.Product},
			{Name: "version", Label: "Version", Type: "text", Placeholder: "e.g. 1.2.0", Value: q.Version},
			{Name: "outcome", Label: "Outcome", Type: "select", Value: q.Outcome, Options: []web.Option{
				{Value: "", Label: "Valid and refused"}, {Value: "valid", Label: "Valid"}, {Value: "refused", Label: "Refused"}}},
		},
		Columns: downloadColumns,
		Bulk: []web.BulkAction{
			{Label: "Delete", Action: "/admin/downloads/bulk-delete", Danger: true, Confirm: "Delete {n} selected download log entries? This cannot be undone."},
		},
	}), page, total)
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/downloads/index", Layout: "layouts/admin", Fragment: "admin/downloads/index/results",
		Data: fiber.Map{"Title": "Downloads", "Section": "downloads", "Downloads": list, "Table": table},
	})
}

// downloadsBulkDelete deletes the selected log entries.
func (h *handlers) downloadsBulkDelete(c fiber.Ctx) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/downloads")
	if c.FormValue("all") == "1" {
		_, f, _, err := h.downloadsFilterOf(c)
		if err != nil {
			return err
		}
		if ids, err = allIDs(c.Context(), func(ctx context.Context, p listing.Page) ([]int64, int, error) {
			list, total, err := downloads.List(ctx, h.db, f, p)
			ids := make([]int64, len(list))
			for i := range list {
				ids[i] = list[i].ID
			}
			return ids, total, err
		}); err != nil {
			return err
		}
	}
	if len(ids) == 0 {
		web.AddFlash(c, web.FlashError, "Select the download log entries first.")
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	var n int
	err := h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		var err error
		n, err = downloads.Delete(ctx, tx, source(c), ids)
		return err
	})
	if err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf("Deleted %s.", plural(n, "download log entry", "download log entries")))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
