package web

import (
	"net/url"
	"slices"
	"strconv"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/listing"
)

// PageSizes are the page sizes every list offers; DefaultPageSize is the
// one a list opens with until the admin picks another.
var PageSizes = []int{10, 25, 50, 100}

// DefaultPageSize is a list's page size until one is chosen.
const DefaultPageSize = 25

// pageSizeCookie remembers a list's page size. It is scoped to the list's
// path, so each list keeps its own.
const pageSizeCookie = "per_page"

// Pagination is what partials/pagination (and the table footer) draws
// under a list.
type Pagination struct {
	Page, Pages, Total, PerPage int
	// First and Last number the rows shown ("Showing 26–50 of 412"); both
	// 0 when there are none.
	First, Last int
	// PrevURL and NextURL keep the request's other query parameters
	// (search, filters, sort, page size), so pages stay bookmarkable; ""
	// at either end.
	PrevURL, NextURL string
	// Numbers are the page numbers to show: the first and last, the current
	// one and its neighbours, with gaps between.
	Numbers []PageLink
	// Sizes are the page sizes to choose from, the current one marked.
	Sizes []PageSize
}

// PageLink is one page number of a pagination, or a gap (…).
type PageLink struct {
	Number  int
	URL     string
	Current bool
	Gap     bool
}

// PageSize is one choice of the page-size selector.
type PageSize struct {
	Size    int
	URL     string
	Current bool
}

// PageOf reads ?page= with a fixed page size (lists without a page-size
// selector).
func PageOf(c fiber.Ctx, perPage int) listing.Page {
	n, _ := strconv.Atoi(c.Query("page"))
	return listing.Page{Number: n, PerPage: perPage}.Normalize()
}

// ListPage reads ?page= and ?per_page= of a list with a page-size
// selector. A per_page among PageSizes is remembered in a cookie scoped to
// the list's path, so the list opens with it next time; without one in the
// URL, the cookie's size applies, else DefaultPageSize.
func ListPage(c fiber.Ctx) listing.Page {
	n, _ := strconv.Atoi(c.Query("page"))
	size := DefaultPageSize
	if s, err := strconv.Atoi(c.Query("per_page")); err == nil && slices.Contains(PageSizes, s) {
		size = s
		if c.Cookies(pageSizeCookie) != strconv.Itoa(s) {
			c.Cookie(&fiber.Cookie{
				Name: pageSizeCookie, Value: strconv.Itoa(s), Path: c.Path(),
				MaxAge: 365 * 24 * 3600, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode, Secure: c.Protocol() == "https",
			})
		}
	} else if s, err := strconv.Atoi(c.Cookies(pageSizeCookie)); err == nil && slices.Contains(PageSizes, s) {
		size = s
	}
	return listing.Page{Number: n, PerPage: size}.Normalize()
}

// Paginate describes page p of total rows for the request's URL.
func Paginate(c fiber.Ctx, p listing.Page, total int) Pagination {
	p = p.Normalize()
	pages := max(1, (total+p.PerPage-1)/p.PerPage)
	out := Pagination{Page: p.Number, Pages: pages, Total: total, PerPage: p.PerPage}
	if total > 0 && p.Offset() < total {
		out.First = p.Offset() + 1
		out.Last = min(p.Offset()+p.PerPage, total)
	}
	link := func(set func(url.Values)) string {
		q := QueryOf(c)
		set(q)
		if len(q) == 0 {
			return c.Path()
		}
		return c.Path() + "?" + q.Encode()
	}
	pageURL := func(n int) string {
		return link(func(q url.Values) {
			if n <= 1 {
				q.Del("page")
			} else {
				q.Set("page", strconv.Itoa(n))
			}
		})
	}
	if p.Number > 1 {
		out.PrevURL = pageURL(min(p.Number-1, pages))
	}
	if p.Number < pages {
		out.NextURL = pageURL(p.Number + 1)
	}
	for _, n := range pageNumbers(p.Number, pages) {
		if n == 0 {
			out.Numbers = append(out.Numbers, PageLink{Gap: true})
			continue
		}
		out.Numbers = append(out.Numbers, PageLink{Number: n, URL: pageURL(n), Current: n == p.Number})
	}
	for _, s := range PageSizes {
		out.Sizes = append(out.Sizes, PageSize{Size: s, Current: s == p.PerPage, URL: link(func(q url.Values) {
			q.Del("page")
			q.Set("per_page", strconv.Itoa(s))
		})})
	}
	return out
}

// pageNumbers are the pages a pagination shows for page cur of pages: 1,
// the last, cur and two on each side; 0 marks a gap. A gap of one page
// shows that page instead.
func pageNumbers(cur, pages int) []int {
	var out []int
	last := 0
	for n := 1; n <= pages; n++ {
		if n != 1 && n != pages && (n < cur-2 || n > cur+2) {
			continue
		}
		switch {
		case n == last+2:
			out = append(out, last+1)
		case n > last+2:
			out = append(out, 0)
		}
		out = append(out, n)
		last = n
	}
	return out
}

// QueryOf is a copy of the request's query parameters.
func QueryOf(c fiber.Ctx) url.Values {
	q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
	return q
}
