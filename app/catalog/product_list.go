package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/listing"
)

// ProductFilter narrows ListProducts. Zero fields do not filter.
type ProductFilter struct {
	// Search matches name or reference id, ignoring case.
	Search   string
	IsActive *bool
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom, CreatedTo time.Time
}

var productSorts = listing.Sorts{
	"id": "p.id", "created_at": "p.created_at", "updated_at": "p.updated_at",
	"name": "p.name", "reference_id": "p.reference_id",
}

// ListProducts returns one page of products and the number matching f.
func ListProducts(ctx context.Context, idb bun.IDB, f ProductFilter, sort string, page listing.Page) ([]Product, int, error) {
	var out []Product
	q := idb.NewSelect().Model(&out)
	if f.Search != "" {
		p := listing.Contains(f.Search)
		q = q.Where("(p.name ILIKE ? OR p.reference_id ILIKE ?)", p, p)
	}
	if f.IsActive != nil {
		q = q.Where("p.is_active = ?", *f.IsActive)
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("p.created_at >= ?", f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("p.created_at < ?", f.CreatedTo)
	}
	q = page.Apply(listing.Order(q, sort, productSorts, "p.created_at", "p.id"))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list products: %w", err)
	}
	return out, int(total), nil
}
