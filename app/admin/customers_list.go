package admin

import (
	"net/url"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/web"
)

const customersPerPage = 25

// customerSortable are the columns the list sorts by (?sort=name, -name…),
// in table order, with their headings.
var customerSortable = []sortColumn{
	{"name", "Name"}, {"email", "Email"}, {"created_at", "Created"}, {"last_login_at", "Last login"},
}

// customerRow is one line of the list: the account, its license count by
// the linking rule and the initials its avatar shows.
type customerRow struct {
	customers.Customer
	Licenses int
	Initials string
}

// sortHeader is a sortable column heading: the link toggles the direction
// and keeps the search and filters.
type sortHeader struct {
	Label, URL string
	Active     bool
	Desc       bool
}

// customersFilter is the list's query: what the URL holds besides the page.
type customersFilter struct {
	Search, Confirmed, HasLicenses, Sort string
	createdRange
}

// customersIndex lists customers: search, filters, sort and page come from
// the URL, so a view can be bookmarked; htmx gets the results alone.
func (h *handlers) customersIndex(c fiber.Ctx) error {
	q, f, err := h.customersFilterOf(c)
	if err != nil {
		return err
	}
	page := web.PageOf(c, customersPerPage)
	list, total, err := customers.List(c.Context(), h.db, f, q.Sort, page)
	if err != nil {
		return err
	}
	ids := make([]int64, len(list))
	for i := range list {
		ids[i] = list[i].ID
	}
	counts, err := customers.LicenseCounts(c.Context(), h.db, ids)
	if err != nil {
		return err
	}
	rows := make([]customerRow, len(list))
	for i, cu := range list {
		rows[i] = customerRow{Customer: cu, Licenses: counts[cu.ID], Initials: initials(cu.Name)}
	}
	return web.Render(c, fiber.StatusOK, web.View{
		Page: "admin/customers/index", Layout: "layouts/admin", Fragment: "admin/customers/index/results",
		Data: fiber.Map{
			"Title": "Customers", "Section": "customers", "Customers": rows, "Filter": q,
			"Filtered":   q.Search != "" || f.Confirmed != nil || f.HasLicenses != nil || q.set(),
			"Sorts":      sortHeaders(c, q.Sort, customerSortable),
			"Back":       c.OriginalURL(),
			"Export":     exportLinks(c, "/admin/customers/export"),
			"Pagination": web.Paginate(c, page, total),
		},
	})
}

// exportLinks are the export URLs of a list (format → URL): its query
// without the page, so the export has the list's filters.
func exportLinks(c fiber.Ctx, path string) map[string]string {
	out := map[string]string{}
	for _, format := range []string{"csv", "jsonl"} {
		q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
		q.Del("page")
		q.Set("format", format)
		out[format] = path + "?" + q.Encode()
	}
	return out
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

func isCustomerSort(s string) bool { return isSort(s, customerSortable) }

// sortColumn is a column a list sorts by: its sort key and heading.
type sortColumn struct{ key, label string }

// isSort reports whether s is one of columns, ascending or descending.
func isSort(s string, columns []sortColumn) bool {
	for _, o := range columns {
		if s == o.key || s == "-"+o.key {
			return true
		}
	}
	return false
}

// sortHeaders builds the sortable headings for the request's URL: a
// column's link sorts ascending, or descending when it is already the
// ascending sort; the page goes back to 1.
func sortHeaders(c fiber.Ctx, current string, columns []sortColumn) map[string]sortHeader {
	out := make(map[string]sortHeader, len(columns))
	for _, o := range columns {
		q, _ := url.ParseQuery(string(c.Request().URI().QueryString()))
		q.Del("page")
		h := sortHeader{Label: o.label, Active: strings.TrimPrefix(current, "-") == o.key, Desc: current == "-"+o.key}
		next := o.key
		if current == o.key {
			next = "-" + o.key
		}
		q.Set("sort", next)
		h.URL = c.Path() + "?" + q.Encode()
		out[o.key] = h
	}
	return out
}

// initials are what a customer's avatar shows: the first letters of the
// first and last words of the name.
func initials(name string) string {
	words := strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	var b strings.Builder
	for i, w := range words {
		if i == 0 || i == len(words)-1 {
			r := []rune(w)[0]
			b.WriteRune(unicode.ToUpper(r))
		}
	}
	if b.Len() == 0 {
		return "?"
	}
	return b.String()
}
