package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// LicenseCounts returns the number of licenses of each of productIDs, in
// one query for a page of products; products without licenses are absent.
func LicenseCounts(ctx context.Context, idb bun.IDB, productIDs []int64) (map[int64]int, error) {
	out := make(map[int64]int, len(productIDs))
	if len(productIDs) == 0 {
		return out, nil
	}
	var rows []struct {
		ProductID int64 `bun:"product_id"`
		N         int   `bun:"n"`
	}
	err := idb.NewSelect().TableExpr("licenses").ColumnExpr("product_id, count(*) AS n").
		Where("product_id IN (?)", bun.List(productIDs)).Group("product_id").Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count licenses of products: %w", err)
	}
	for _, r := range rows {
		out[r.ProductID] = r.N
	}
	return out, nil
}

// Stats are the figures a product's console page shows.
type Stats struct {
	// Licenses counts every license; ActiveLicenses those neither blocked
	// nor expired at the time asked.
	Licenses, ActiveLicenses int
	// Activations counts those holding a slot now; AllActivations every
	// successful one, deactivated included.
	Activations, AllActivations int
}

// ProductStats returns the Stats of product id, statuses judged at now,
// in one query.
func ProductStats(ctx context.Context, idb bun.IDB, id int64, now time.Time) (Stats, error) {
	var s Stats
	err := idb.NewRaw(`SELECT
		(SELECT count(*) FROM licenses WHERE product_id = ?0),
		(SELECT count(*) FROM licenses WHERE product_id = ?0 AND is_valid AND (expires_at IS NULL OR expires_at > ?1)),
		(SELECT count(*) FROM activations WHERE product_id = ?0 AND is_active),
		(SELECT count(*) FROM activations WHERE product_id = ?0 AND is_valid)`, id, now).
		Scan(ctx, &s.Licenses, &s.ActiveLicenses, &s.Activations, &s.AllActivations)
	if err != nil {
		return s, fmt.Errorf("product %d statistics: %w", id, err)
	}
	return s, nil
}

// TopCustomer is one holder of a product's licenses: the licenses'
// customer_id, or their email when they have none.
type TopCustomer struct {
	Holder   string `bun:"holder"`
	Licenses int    `bun:"licenses"`
	// CustomerID and Name are the account whose client ID is Holder, when
	// there is one.
	CustomerID *int64  `bun:"customer_id"`
	Name       *string `bun:"name"`
}

// TopCustomers returns the holders with the most licenses of product id,
// most first, at most limit, in one query.
func TopCustomers(ctx context.Context, idb bun.IDB, id int64, limit int) ([]TopCustomer, error) {
	var out []TopCustomer
	err := idb.NewRaw(`SELECT h.holder, h.licenses, c.id AS customer_id, c.name
		FROM (SELECT coalesce(customer_id, email) AS holder, count(*) AS licenses
			FROM licenses WHERE product_id = ?0 AND coalesce(customer_id, email) IS NOT NULL
			GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ?1) AS h
		LEFT JOIN customers AS c ON lower(c.client_id) = lower(h.holder)
		ORDER BY h.licenses DESC, h.holder`, id, limit).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("top customers of product %d: %w", id, err)
	}
	return out, nil
}
