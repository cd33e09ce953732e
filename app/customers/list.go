package customers

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/listing"
)

// Filter narrows List. Zero fields do not filter.
type Filter struct {
	// Search matches name, email or client ID, ignoring case.
	Search    string
	Confirmed *bool
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom, CreatedTo time.Time
	// HasLicenses keeps customers with (true) or without (false) at least
	// one linked license.
	HasLicenses *bool
}

// searchExpr is what the search box matches: name, email and client ID
// joined by a unit separator, which a search pattern cannot contain, so a
// match never spans two of them. customers_search_idx (a trigram index,
// migration 0015) indexes exactly this expression.
const searchExpr = `(c.name || E'\x1f' || c.email::text || E'\x1f' || c.client_id::text)`

// sorts are the fields a customer list may be sorted by.
var sorts = listing.Sorts{
	"id": "c.id", "created_at": "c.created_at", "updated_at": "c.updated_at",
	"name": "c.name", "email": "c.email", "client_id": "c.client_id", "last_login_at": "c.last_login_at",
}

// List returns one page of customers and the number matching f.
func List(ctx context.Context, idb bun.IDB, f Filter, sort string, page listing.Page) ([]Customer, int, error) {
	var out []Customer
	q := filtered(idb.NewSelect().Model(&out), f)
	q = page.Apply(listing.Order(q, sort, sorts, "c.created_at", "c.id"))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list customers: %w", err)
	}
	return out, int(total), nil
}

// Each calls fn with the customers matching f, in id order, batch at a time
// (keyset paging, so an export of every customer reads each row once and
// holds one batch in memory).
func Each(ctx context.Context, idb bun.IDB, f Filter, batch int, fn func([]Customer) error) error {
	var last int64
	for {
		var out []Customer
		q := filtered(idb.NewSelect().Model(&out), f).Where("c.id > ?", last).OrderExpr("c.id").Limit(int64(batch))
		if err := q.Scan(ctx); err != nil {
			return fmt.Errorf("read customers after %d: %w", last, err)
		}
		if len(out) == 0 {
			return nil
		}
		if err := fn(out); err != nil {
			return err
		}
		if len(out) < batch {
			return nil
		}
		last = out[len(out)-1].ID
	}
}

// filtered applies f to a query on customers (alias c).
func filtered(q *bun.SelectQuery, f Filter) *bun.SelectQuery {
	if f.Search != "" {
		p := listing.Contains(f.Search)
		q = q.Where(searchExpr+" ILIKE ?", p)
	}
	if f.Confirmed != nil {
		if *f.Confirmed {
			q = q.Where("c.confirmed_at IS NOT NULL")
		} else {
			q = q.Where("c.confirmed_at IS NULL")
		}
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("c.created_at >= ?", f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("c.created_at < ?", f.CreatedTo)
	}
	if f.HasLicenses != nil {
		exists := HasLinkedLicense("c")
		if !*f.HasLicenses {
			exists = "NOT " + exists
		}
		q = q.Where(exists)
	}
	return q
}
