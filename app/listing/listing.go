// Package listing holds the paging and sorting options every domain list
// takes, so the API, the console and the portal page and sort alike
// (docs/api/resources.md "Pagination": page from 1, 15 per page by default, at most 100;
// newest first unless ?sort= names an allowed field, "-field" descending).
package listing

import (
	"strings"

	"github.com/uptrace/bun"
)

const (
	DefaultPerPage = 15
	MaxPerPage     = 100
)

// Page selects one page of a list. Out-of-range values fall back to the
// defaults (and PerPage above the maximum is clamped), as the API promises.
type Page struct {
	Number  int
	PerPage int
}

// Normalize returns p with defaults and limits applied.
func (p Page) Normalize() Page {
	if p.Number < 1 {
		p.Number = 1
	}
	switch {
	case p.PerPage < 1:
		p.PerPage = DefaultPerPage
	case p.PerPage > MaxPerPage:
		p.PerPage = MaxPerPage
	}
	return p
}

// Offset is the number of rows before the page.
func (p Page) Offset() int {
	n := p.Normalize()
	return (n.Number - 1) * n.PerPage
}

// Apply limits q to the page.
func (p Page) Apply(q *bun.SelectQuery) *bun.SelectQuery {
	n := p.Normalize()
	return q.Limit(int64(n.PerPage)).Offset(int64(p.Offset()))
}

// Sorts maps the names a caller may sort by to SQL column expressions.
type Sorts map[string]string

// Order applies sort (e.g. "name" or "-created_at") to q when it names an
// allowed field, else newest first by createdCol. The id column breaks ties
// so pages never repeat or skip rows.
func Order(q *bun.SelectQuery, sort string, allowed Sorts, createdCol, idCol string) *bun.SelectQuery {
	sort = strings.TrimSpace(sort)
	desc := strings.HasPrefix(sort, "-")
	col, ok := allowed[strings.TrimPrefix(sort, "-")]
	if !ok {
		return q.OrderExpr(createdCol + " DESC").OrderExpr(idCol + " DESC")
	}
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	if col == createdCol && desc {
		// Never null: the same order as the default, which the lists'
		// (created_at DESC, id DESC) indexes serve.
		return q.OrderExpr(createdCol + " DESC").OrderExpr(idCol + " DESC")
	}
	q = q.OrderExpr(col + dir + " NULLS LAST")
	if col != idCol {
		q = q.OrderExpr(idCol + dir)
	}
	return q
}

// Contains is the ILIKE pattern matching values that contain s literally
// (search boxes): %, _ and \ in s match themselves.
func Contains(s string) string {
	var b strings.Builder
	b.WriteByte('%')
	for _, r := range s {
		if r == '\x1f' {
			// The separator of the lists' multi-column search expressions:
			// dropped, so a match never spans two columns.
			continue
		}
		if r == '%' || r == '_' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String()
}
