package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/web"
)

const downloadsPerPage = 50

// downloadsFilter is the download log's query besides the page.
type downloadsFilter struct {
	Search, Product, Version, Outcome string
}

// downloadsIndex lists update-download attempts newest first (product.md
// §8): filters product, version and outcome (valid or refused), search by
// download id, license code, domain or IP.
func (h *handlers) downloadsIndex(c fiber.Ctx) error {
	q := downloadsFilter{
		Search: strings.TrimSpace(c.Query("q")), Product: c.Query("product"),
		Version: strings.TrimSpace(c.Query("version")), Outcome: c.Query("outcome"),
	}
	products, err := h.productChoices(c)
	if err != nil {
		return err
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
	page := web.PageOf(c, downloadsPerPage)
	list, total, err := downloads.List(c.Context(), h.db, f, page)
	if err != nil {
		return err
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/downloads/index", Layout: "layouts/admin", Fragment: "admin/downloads/index/results",
		Data: fiber.Map{
			"Title": "Downloads", "Section": "downloads", "Downloads": list, "Filter": q, "Products": products,
			"Filtered":   q.Search != "" || q.Product != "" || q.Version != "" || q.Outcome != "",
			"Back":       c.OriginalURL(),
			"Pagination": web.Paginate(c, page, total),
		},
	})
}

// downloadsBulkDelete deletes the selected log entries.
func (h *handlers) downloadsBulkDelete(c fiber.Ctx) error {
	ids, back := selectedIDs(c), web.LocalPath(c.FormValue("back"), "/admin/downloads")
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
