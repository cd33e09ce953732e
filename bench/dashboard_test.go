package bench_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/licensor/licensor/app/db/dbtest"
	"github.com/licensor/licensor/app/reports"
)

// dashboardCustomers is the number of customers TestDashboardScale
// inserts (with twice as many licenses, three times as many activations
// and as many verifications). The default keeps `go test ./bench/...`
// fast; the console's scale is checked with
//
//	go test ./bench/ -run TestDashboardScale -v -dashboard-customers 100000
var dashboardCustomers = flag.Int("dashboard-customers", 2000, "customers inserted by TestDashboardScale")

// TestDashboardScale times every query of the dashboard and the top
// customers report over generated data spread across a year: half the
// licenses linked by client ID, half by email (a third of the customers
// unconfirmed, so some of those link nobody), one in ten activations
// failed.
func TestDashboardScale(t *testing.T) {
	n := *dashboardCustomers
	d := dbtest.New(t)
	ctx := context.Background()
	now := time.Now()
	start := time.Now()
	for _, q := range []string{
		`INSERT INTO products (name, reference_id) SELECT 'Product ' || g, 'P' || g FROM generate_series(1, 20) AS g`,
		`INSERT INTO customers (name, email, client_id, confirmed_at, email_proven_at, created_at)
			SELECT 'Customer ' || g, 'c' || g || '@example.com', 'CID-' || g, CASE WHEN g % 3 <> 0 THEN now() END, CASE WHEN g % 3 <> 0 THEN now() END,
				now() - (g % 365) * interval '1 day'
			FROM generate_series(1, ?::int) AS g`,
		`INSERT INTO licenses (product_id, license_code, customer_id, email, is_valid, expires_at, created_at)
			SELECT (SELECT min(id) FROM products) + g % 20, 'L-' || g, CASE WHEN g % 2 = 0 THEN 'cid-' || (g % ?::int + 1) END,
				'c' || (g % ?::int + 1) || '@example.com', g % 17 <> 0, CASE WHEN g % 5 = 0 THEN now() - interval '1 day' END,
				now() - (g % 365) * interval '1 day'
			FROM generate_series(1, 2 * ?::int) AS g`,
		`INSERT INTO activations (license_id, product_id, license_code, domain, is_valid, is_active, created_at, activated_at)
			SELECT l.id, l.product_id, l.license_code, 'site' || g || '.example', g % 10 <> 0, g % 10 <> 0,
				now() - (g % 365) * interval '1 day', now() - (g % 365) * interval '1 day'
			FROM generate_series(1, 3 * ?::int) AS g JOIN licenses AS l ON l.license_code = 'L-' || (g % (2 * ?::int) + 1)`,
		`INSERT INTO customer_activity (customer_id, type, created_at)
			SELECT (SELECT min(id) FROM customers) + g % ?::int, 'license_verified', now() - (g % 365) * interval '1 day'
			FROM generate_series(1, ?::int) AS g`,
		`ANALYZE`,
	} {
		args := make([]any, 0, 3)
		for range countPlaceholders(q) {
			args = append(args, n)
		}
		if _, err := d.Bun.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Logf("inserted %d customers, %d licenses, %d activations in %s", n, 2*n, 3*n, time.Since(start).Round(time.Millisecond))

	timed := func(what string, f func() error) {
		t.Helper()
		start := time.Now()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%-28s %s", what, time.Since(start).Round(100*time.Microsecond))
	}
	timed("summary", func() error {
		s, err := reports.Summarize(ctx, d.Bun, now)
		if err == nil && (s.Customers != n || s.Licenses() != 2*n) {
			t.Errorf("summary counts %d customers and %d licenses", s.Customers, s.Licenses())
		}
		return err
	})
	for _, days := range []int{30, 90} {
		timed(fmt.Sprintf("days %d", days), func() error {
			list, err := reports.Days(ctx, d.Bun, now, days)
			if err == nil && (len(list) != days || list[days-1].Customers != n) {
				t.Errorf("%d days, %d customers at the end", len(list), list[len(list)-1].Customers)
			}
			return err
		})
	}
	timed("recent activations", func() error {
		_, err := reports.RecentActivations(ctx, d.Bun, 10)
		return err
	})
	for _, days := range []int{30, 0} {
		var since time.Time
		if days > 0 {
			since = now.AddDate(0, 0, -days)
		}
		timed(fmt.Sprintf("top customers since %d days", days), func() error {
			r, err := reports.TopCustomers(ctx, d.Bun, since, 25)
			if err == nil && len(r.ByLicenses) != 25 {
				t.Errorf("%d customers ranked by licenses", len(r.ByLicenses))
			}
			return err
		})
	}
}

func countPlaceholders(q string) int {
	n := 0
	for i := range q {
		if q[i] == '?' {
			n++
		}
	}
	return n
}
