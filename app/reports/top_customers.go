package reports

import (
	"context"
	"fmt"
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

	ByLicenses    int `bun:"by_licenses"`
	ByProducts    int `bun:"by_products"`
	ByActivations int `bun:"by_activations"`
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
// the first limit of each. Ties go to the older account. One query: the
// measures are computed once for every customer and ranked three ways.
func TopCustomers(ctx context.Context, idb bun.IDB, since time.Time, limit int) (Rankings, error) {
	if since.IsZero() {
		since = allTime
	}
	var rows []TopCustomer
	err := idb.NewRaw(`WITH pairs AS (`+customers.LinkedPairs()+`),
		measures AS (
			SELECT pairs.customer_id,
				count(*) FILTER (WHERE l.created_at >= ?) AS licenses,
				count(DISTINCT l.product_id) FILTER (WHERE l.created_at >= ?) AS products,
				coalesce(sum(a.n), 0) AS activations
			FROM pairs
			JOIN licenses AS l ON l.id = pairs.license_id
			LEFT JOIN (
				SELECT license_id, count(*) AS n FROM activations
				WHERE is_valid AND created_at >= ? AND license_id IS NOT NULL GROUP BY license_id
			) AS a ON a.license_id = l.id
			GROUP BY pairs.customer_id
		), ranked AS (
			SELECT measures.*,
				row_number() OVER (ORDER BY licenses DESC, customer_id) AS by_licenses,
				row_number() OVER (ORDER BY products DESC, licenses DESC, customer_id) AS by_products,
				row_number() OVER (ORDER BY activations DESC, customer_id) AS by_activations
			FROM measures
		)
		SELECT ranked.*, c.name, c.email
		FROM ranked JOIN customers AS c ON c.id = ranked.customer_id
		WHERE (by_licenses <= ? AND licenses > 0) OR (by_products <= ? AND products > 0)
			OR (by_activations <= ? AND activations > 0)`,
		since, since, since, limit, limit, limit).Scan(ctx, &rows)
	if err != nil {
		return Rankings{}, fmt.Errorf("top customers: %w", err)
	}
	var r Rankings
	r.ByLicenses = ranking(rows, limit, func(t TopCustomer) (int, int) { return t.ByLicenses, t.Licenses })
	r.ByProducts = ranking(rows, limit, func(t TopCustomer) (int, int) { return t.ByProducts, t.Products })
	r.ByActivations = ranking(rows, limit, func(t TopCustomer) (int, int) { return t.ByActivations, t.Activations })
	return r, nil
}

// ranking orders the rows in one ranking (rank and measure of a row given
// by of), dropping those outside it.
func ranking(rows []TopCustomer, limit int, of func(TopCustomer) (rank, measure int)) []TopCustomer {
	out := make([]TopCustomer, limit)
	n := 0
	for _, t := range rows {
		if rank, measure := of(t); rank <= limit && measure > 0 {
			out[rank-1] = t
			n = max(n, rank)
		}
	}
	return out[:n]
}
