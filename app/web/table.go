package web

import (
	"strings"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/listing"
)

// TableSpec describes a console or portal list for partials/table: what
// its toolbar offers (search, filters, links, export), its columns and
// its bulk actions. Handlers declare one per list and fill it with the
// request's values through NewTable.
type TableSpec struct {
	// ID names the list ("licenses"): its results element is
	// "<ID>-results", and the column chooser remembers per ID.
	ID string
	// Search is the search box's placeholder (and label); "" means no
	// search box. Its parameter is q.
	Search string
	// SearchValue is the search as the handler read it.
	SearchValue string
	// Filters are what the Filters panel offers, with their current
	// values; each set one is shown as a removable chip.
	Filters []Filter
	// Columns are the list's columns in order, after the selection
	// checkbox and before the row actions.
	Columns []Column
	// Sort is the current ?sort= (a column's SortKey, "-" for
	// descending).
	Sort string
	// Bulk are the actions of the bulk menu; none means rows cannot be
	// selected.
	Bulk []BulkAction
	// Links are the toolbar's buttons (New, Generate…); the one marked
	// Primary is the list's main action, kept visible on phones.
	Links []Link
	// ExportPath is where the list exports ("/admin/licenses/export"):
	// the toolbar's Export menu offers CSV and JSON Lines of the list as
	// filtered. "" means no export.
	ExportPath string
	// ExtraExport are further entries of the Export menu (an import
	// page, say).
	ExtraExport []Link
	// RowActions is true when rows end with an actions cell.
	RowActions bool
}

// Filter is one field of a list's Filters panel.
type Filter struct {
	Name, Label string
	// Type is "select" (Options), "date" (YYYY-MM-DD) or "text".
	Type    string
	Options []Option
	// Value is the filter's current value ("" is unset).
	Value string
	// Placeholder is shown in an empty text field.
	Placeholder string
}

// Option is one choice of a select or of a group of boxes
// (partials/field).
type Option struct {
	Value, Label string
	// Checked marks a checked box of a checkbox group.
	Checked bool
}

// Column is one column of a list.
type Column struct {
	// Key names the column's cells (data-col) and its chooser entry.
	Key, Label string
	// SortKey is the ?sort= value that sorts by this column; "" means
	// not sortable.
	SortKey string
	// Optional columns can be hidden with the column chooser; Hidden ones
	// start hidden until the chooser shows them.
	Optional, Hidden bool
	// Class is added to the heading (e.g. "num").
	Class string
	// Sort is the heading's sort link, for sortable columns.
	Sort *SortHeader
}

// SortHeader is a sortable column heading (partials/sort-header): the
// link toggles the direction and keeps the search and filters.
type SortHeader struct {
	Label, URL string
	Active     bool
	Desc       bool
}

// BulkAction is one entry of a list's bulk menu: a POST to Action with
// the selected ids (or all=1 and the list's query, for every matching
// row).
type BulkAction struct {
	// Action is the POST path; URL is filled by NewTable: Action with the
	// list's query.
	Label, Action, URL string
	// Confirm is the dialog's question; {n} is replaced by the number of
	// rows. "" submits at once.
	Confirm string
	Danger  bool
}

// Link is a toolbar link.
type Link struct {
	Label, URL string
	Primary    bool
	// Download makes the link a plain download (no htmx).
	Download bool
}

// Chip is a set filter, shown above the results with a link removing it.
type Chip struct {
	Label, RemoveURL string
}

// Table is a TableSpec filled with the request: what partials/table draws.
type Table struct {
	TableSpec
	// Path is the list's path; Query its current query string (bulk
	// actions carry it, so "all matching" means the same rows); Back the
	// list's URL, where actions return.
	Path, Query, Back string
	CSRF              string
	Chips             []Chip
	// ClearURL is the list without search and filters.
	ClearURL string
	Export   []Link
	Pagination
	// Fragment is true when only the results are drawn (an htmx
	// request): the toolbar's parts outside the results are then sent
	// out of band.
	Fragment bool
}

// Selectable reports whether rows have a selection checkbox.
func (t *Table) Selectable() bool { return len(t.Bulk) > 0 }

// Filtered reports whether a search or a filter narrows the list.
func (t *Table) Filtered() bool { return t.SearchValue != "" || len(t.Chips) > 0 }

// HasChooser reports whether some column can be hidden.
func (t *Table) HasChooser() bool {
	for _, c := range t.Columns {
		if c.Optional {
			return true
		}
	}
	return false
}

// Primary is the toolbar's primary link, if any.
func (t *Table) Primary() *Link {
	for i := range t.Links {
		if t.Links[i].Primary {
			return &t.Links[i]
		}
	}
	return nil
}

// NewTable fills spec with the request: sort links, chips, export links,
// the pagination of page p among total rows.
func NewTable(c fiber.Ctx, spec TableSpec, p listing.Page, total int) *Table {
	t := &Table{
		TableSpec:  spec,
		Path:       c.Path(),
		Query:      string(c.Request().URI().QueryString()),
		Back:       c.OriginalURL(),
		CSRF:       CSRFToken(c),
		Pagination: Paginate(c, p, total),
		Fragment:   wantsFragment(c),
	}
	t.Bulk = append([]BulkAction(nil), spec.Bulk...)
	for i := range t.Bulk {
		t.Bulk[i].URL = WithQuery(t.Bulk[i].Action, t.Query)
	}
	t.Columns = append([]Column(nil), spec.Columns...)
	for i, col := range t.Columns {
		if col.SortKey != "" {
			h := sortHeader(c, spec.Sort, col.SortKey, col.Label)
			t.Columns[i].Sort = &h
		}
	}
	without := func(names ...string) string {
		q := QueryOf(c)
		q.Del("page")
		for _, n := range names {
			q.Del(n)
		}
		if len(q) == 0 {
			return t.Path
		}
		return t.Path + "?" + q.Encode()
	}
	var filterNames []string
	for _, f := range spec.Filters {
		filterNames = append(filterNames, f.Name)
		if f.Value == "" {
			continue
		}
		value := f.Value
		for _, o := range f.Options {
			if o.Value == f.Value {
				value = o.Label
			}
		}
		t.Chips = append(t.Chips, Chip{Label: f.Label + ": " + value, RemoveURL: without(f.Name)})
	}
	if spec.SearchValue != "" {
		t.Chips = append([]Chip{{Label: "Search: " + spec.SearchValue, RemoveURL: without("q")}}, t.Chips...)
	}
	t.ClearURL = without(append(filterNames, "q")...)
	if spec.ExportPath != "" {
		for _, f := range []struct{ format, label string }{{"csv", "CSV"}, {"jsonl", "JSON Lines"}} {
			q := QueryOf(c)
			q.Del("page")
			q.Del("per_page")
			q.Set("format", f.format)
			t.Export = append(t.Export, Link{Label: f.label, URL: spec.ExportPath + "?" + q.Encode(), Download: true})
		}
	}
	t.Export = append(t.Export, spec.ExtraExport...)
	return t
}

// SortHeaders builds the sortable headings of a list that draws its own
// table: key → heading.
func SortHeaders(c fiber.Ctx, current string, columns []Column) map[string]SortHeader {
	out := make(map[string]SortHeader, len(columns))
	for _, col := range columns {
		out[col.SortKey] = sortHeader(c, current, col.SortKey, col.Label)
	}
	return out
}

// IsSort reports whether s sorts by one of columns, either way.
func IsSort(s string, columns []Column) bool {
	for _, col := range columns {
		if col.SortKey != "" && (s == col.SortKey || s == "-"+col.SortKey) {
			return true
		}
	}
	return false
}

// sortHeader is the heading of the column sorted by column: its link sorts
// ascending, or descending when that is the current sort; the page goes
// back to 1.
func sortHeader(c fiber.Ctx, current, column, label string) SortHeader {
	q := QueryOf(c)
	q.Del("page")
	h := SortHeader{Label: label, Active: strings.TrimPrefix(current, "-") == column, Desc: current == "-"+column}
	next := column
	if current == column {
		next = "-" + column
	}
	q.Set("sort", next)
	h.URL = c.Path() + "?" + q.Encode()
	return h
}

// WithQuery is path with query (raw) appended.
func WithQuery(path, query string) string {
	if query == "" {
		return path
	}
	if strings.Contains(path, "?") {
		return path + "&" + query
	}
	return path + "?" + query
}
