package reports

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
)

// TopCustomer is a customer and its three measures over the period.
type TopCustomer struct {
	ID    int64  `bun:"customer_id"`
	Name  string `bun:"name"`
	Email string `bun:"email"`
	// Licenses and Products count the customer's licenses created in the
	// period and their distinct products; Activations the successful
	// activations made in the period on any of the customer's licenses.
	Licenses    int `bun:"licenses"`
	Products    int `bun:"products"`
	Activations int `bun:"activations"`
}

// Rankings are the three top-customer lists, best first; a customer with
// nothing to count in a ranking is left out of it.
type Rankings struct {
	ByLicenses, ByProducts, ByActivations []TopCustomer
}

// Empty is true when no customer made any ranking.
func (r Rankings) Empty() bool {
	return len(r.ByLicenses) == 0 && len(r.ByProducts) == 0 && len(r.ByActivations) == 0
}

// allTime stands for "no period": older than any row.
var allTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)

// TopCustomers ranks customers, by the linking rule, by licenses, by
// products and by activations since since (zero means all time), keeping
// the first limit of each. Ties go to the customer with more licenses,
// then to the older account. One query: the measures are computed once
// for every customer (over the link pairs, built once), and each ranking
// is a top-N of them.
func TopCustomers(ctx context.Context, idb bun.IDB, since time.Time, limit int) (Rankings, error) {
	if since.IsZero() {
		since = allTime
	}
	limit = max(limit, 1)
	var rows []TopCustomer
	err := idb.NewRaw(`WITH pairs AS MATERIALIZED (`+customers.LinkedPairs("product_id", "created_at")+`),
		owned AS (
			SELECT customer_id, count(*) AS licenses, count(DISTINCT product_id) AS products
			FROM pairs WHERE created_at >= ? GROUP BY customer_id
		), used AS (
			SELECT pairs.customer_id, count(*) AS activations
			FROM pairs JOIN activations AS a ON a.license_id = pairs.license_id
			WHERE a.is_valid AND a.created_at >= ? GROUP BY pairs.customer_id
		), measures AS MATERIALIZED (
			SELECT customer_id, coalesce(owned.licenses, 0) AS licenses, coalesce(owned.products, 0) AS products,
				coalesce(used.activations, 0) AS activations
			FROM owned FULL JOIN used USING (customer_id)
		), top AS (
			(SELECT * FROM measures WHERE licenses > 0 ORDER BY licenses DESC, customer_id LIMIT ?)
			UNION
			(SELECT * FROM measures WHERE products > 0 ORDER BY products DESC, licenses DESC, customer_id LIMIT ?)
			UNION
			(SELECT * FROM measures WHERE activations > 0 ORDER BY activations DESC, licenses DESC, customer_id LIMIT ?)
		)
		SELECT top.*, c.name, c.email FROM top JOIN customers AS c ON c.id = top.customer_id`,
		since, since, limit, limit, limit).Scan(ctx, &rows)
	if err != nil {
		return Rankings{}, fmt.Errorf("top customers: %w", err)
	}
	return Rankings{
		ByLicenses:    ranking(rows, limit, func(t TopCustomer) int { return t.Licenses }),
		ByProducts:    ranking(rows, limit, func(t TopCustomer) int { return t.Products }),
		ByActivations: ranking(rows, limit, func(t TopCustomer) int { return t.Activations }),
	}, nil
}

// ranking is the first limit rows with a measure, by measure, then
// licenses, then age (the query's order).
func ranking(rows []TopCustomer, limit int, measure func(TopCustomer) int) []TopCustomer {
	var out []TopCustomer
	for _, t := range rows {
		if measure(t) > 0 {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(a, b TopCustomer) int {
		return cmp.Or(cmp.Compare(measure(b), measure(a)), cmp.Compare(b.Licenses, a.Licenses), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(len(out), limit)]
}
