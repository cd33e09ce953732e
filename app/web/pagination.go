package web

import (
	"net/url"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/listing"
)

// Pagination is what partials/pagination draws under a console table.
type Pagination struct {
	Page, Pages, Total int
	// PrevURL and NextURL keep the request's other query parameters
	// (search, filters), so pages stay bookmarkable; "" at either end.
	PrevURL, NextURL string
}

// PageOf reads ?page= (per page fixed by the table) from the request.
func PageOf(c fiber.Ctx, perPage int) listing.Page {
	n, _ := strconv.Atoi(c.Query("page"))
	return listing.Page{Number: n, PerPage: perPage}.Normalize()
}

// Paginate describes page p of total rows for the request's URL.
func Paginate(c fiber.Ctx, p listing.Page, total int) Pagination {
	p = p.Normalize()
	pages := max(1, (total+p.PerPage-1)/p.PerPage)
	out := Pagination{Page: p.Number, Pages: pages, Total: total}
	link := func(n int) string {
		q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
		if n <= 1 {
			q.Del("page")
		} else {
			q.Set("page", strconv.Itoa(n))
		}
		if len(q) == 0 {
			return c.Path()
		}
		return c.Path() + "?" + q.Encode()
	}
	if p.Number > 1 {
		out.PrevURL = link(min(p.Number-1, pages))
	}
	if p.Number < pages {
		out.NextURL = link(p.Number + 1)
	}
	return out
}
