// Package reports answers the console's dashboard and report questions
// (docs/features.md#dashboard-and-reports) with aggregate SQL: counts, day buckets from
// generate_series, rankings by the linking rule. Each function is one
// query, so a page costs a handful whatever the data size. It reads the
// tables of customers, licensing and audit and owns none.
package reports

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
)

// Periods are the day counts the console offers; DefaultPeriod is the one
// shown when none (or another number) is asked for.
var Periods = []int{7, 30, 90}

// DefaultPeriod is the dashboard's period when none is chosen.
const DefaultPeriod = 30

// ParsePeriod returns s as one of allowed, or def.
func ParsePeriod(s string, allowed []int, def int) int {
	for _, p := range allowed {
		if s == fmt.Sprint(p) {
			return p
		}
	}
	return def
}

// NewCustomersWindow is how far back "new customers" look.
const NewCustomersWindow = 30 * 24 * time.Hour

// Summary is the dashboard's counters as of Now.
type Summary struct {
	Customers int `bun:"customers"`
	// NewCustomers joined in the NewCustomersWindow before now.
	NewCustomers int `bun:"new_customers"`
	// Licenses by status, as the license list filters them: active is
	// valid and not expired; expired is valid with expires_at passed;
	// blocked is not valid, expired or not.
	ActiveLicenses  int `bun:"active_licenses"`
	ExpiredLicenses int `bun:"expired_licenses"`
	BlockedLicenses int `bun:"blocked_licenses"`
	// ActiveActivations hold a slot now.
	ActiveActivations int `bun:"active_activations"`
}

// Licenses is the number of licenses of every status.
func (s Summary) Licenses() int { return s.ActiveLicenses + s.ExpiredLicenses + s.BlockedLicenses }

// Summarize counts customers, licenses by status and active activations.
func Summarize(ctx context.Context, idb bun.IDB, now time.Time) (Summary, error) {
	var s Summary
	err := idb.NewRaw(`SELECT
		(SELECT count(*) FROM customers) AS customers,
		(SELECT count(*) FROM customers WHERE created_at >= ?) AS new_customers,
		count(*) FILTER (WHERE l.is_valid AND (l.expires_at IS NULL OR l.expires_at > ?)) AS active_licenses,
		count(*) FILTER (WHERE l.is_valid AND l.expires_at <= ?) AS expired_licenses,
		count(*) FILTER (WHERE NOT l.is_valid) AS blocked_licenses,
		(SELECT count(*) FROM activations WHERE is_active) AS active_activations
		FROM licenses AS l`, now.Add(-NewCustomersWindow), now, now).Scan(ctx, &s)
	if err != nil {
		return Summary{}, fmt.Errorf("summarize: %w", err)
	}
	return s, nil
}

// Day is one UTC day's counts. The API calls are every authenticated API
// request, counted per endpoint scope by the nodes (api_call_counts): the
// activate, verify and deactivate endpoints, and all others together.
type Day struct {
	Date              time.Time `bun:"day"`
	Activations       int       `bun:"activations"`
	FailedActivations int       `bun:"failed_activations"`
	Deactivations     int       `bun:"deactivations"`
	Verifications     int       `bun:"verifications"`
	CallsActivate     int       `bun:"calls_activate"`
	CallsVerify       int       `bun:"calls_verify"`
	CallsDeactivate   int       `bun:"calls_deactivate"`
	CallsOther        int       `bun:"calls_other"`
	NewCustomers      int       `bun:"new_customers"`
	// NewLicenses were created that day; Downloads are update downloads
	// served (DownloadsRefused those refused).
	NewLicenses      int `bun:"new_licenses"`
	Downloads        int `bun:"downloads"`
	DownloadsRefused int `bun:"downloads_refused"`
	// Customers is the number of accounts at the end of the day (accounts
	// deleted since are not counted).
	Customers int `bun:"customers"`
}

// Days returns one Day per UTC day of the days ending today (as of now),
// oldest first, days without events included.
func Days(ctx context.Context, idb bun.IDB, now time.Time, days int) ([]Day, error) {
	days = max(days, 1)
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	var out []Day
	err := idb.NewRaw(`WITH days AS (
			SELECT d::date AS day FROM generate_series(?::date, ?::date, interval '1 day') AS d
		), attempts AS (
			SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
				count(*) FILTER (WHERE is_valid) AS ok, count(*) FILTER (WHERE NOT is_valid) AS failed
			FROM activations WHERE created_at >= ? GROUP BY 1
		), deactivations AS (
			SELECT (deactivated_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
			FROM activations WHERE deactivation_reason = 'client' AND deactivated_at >= ? GROUP BY 1
		), verifications AS (
			SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
			FROM customer_activity WHERE type = ? AND created_at >= ? GROUP BY 1
		), calls AS (
			SELECT day,
				sum(calls) FILTER (WHERE scope = 'license:activate') AS activate,
				sum(calls) FILTER (WHERE scope = 'license:verify') AS verify,
				sum(calls) FILTER (WHERE scope = 'license:deactivate') AS deactivate,
				sum(calls) FILTER (WHERE scope NOT IN ('license:activate', 'license:verify', 'license:deactivate')) AS other
			FROM api_call_counts WHERE day >= ? GROUP BY 1
		), joined AS (
			SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
			FROM customers WHERE created_at >= ? GROUP BY 1
		), issued AS (
			SELECT (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
			FROM licenses WHERE created_at >= ? GROUP BY 1
		), served AS (
			SELECT (downloaded_at AT TIME ZONE 'UTC')::date AS day,
				count(*) FILTER (WHERE is_valid) AS ok, count(*) FILTER (WHERE NOT is_valid) AS refused
			FROM download_logs WHERE downloaded_at >= ? GROUP BY 1
		)
		SELECT days.day,
			coalesce(attempts.ok, 0) AS activations, coalesce(attempts.failed, 0) AS failed_activations,
			coalesce(deactivations.n, 0) AS deactivations, coalesce(verifications.n, 0) AS verifications,
			coalesce(calls.activate, 0) AS calls_activate, coalesce(calls.verify, 0) AS calls_verify,
			coalesce(calls.deactivate, 0) AS calls_deactivate, coalesce(calls.other, 0) AS calls_other,
			coalesce(joined.n, 0) AS new_customers,
			coalesce(issued.n, 0) AS new_licenses,
			coalesce(served.ok, 0) AS downloads, coalesce(served.refused, 0) AS downloads_refused,
			(SELECT count(*) FROM customers WHERE created_at < ?) + sum(coalesce(joined.n, 0)) OVER (ORDER BY days.day) AS customers
		FROM days
		LEFT JOIN attempts USING (day)
		LEFT JOIN deactivations USING (day)
		LEFT JOIN verifications USING (day)
		LEFT JOIN calls USING (day)
		LEFT JOIN joined USING (day)
		LEFT JOIN issued USING (day)
		LEFT JOIN served USING (day)
		ORDER BY days.day`,
		first, today, first, first, audit.CustomerLicenseVerified, first, first, first, first, first, first).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("daily counts: %w", err)
	}
	return out, nil
}

// RecentActivation is a successful activation with what its console row
// links to: the license and, by the linking rule, the customer.
type RecentActivation struct {
	ID           int64     `bun:"id"`
	LicenseID    *int64    `bun:"license_id"`
	LicenseCode  string    `bun:"license_code"`
	ProductName  string    `bun:"product_name"`
	Domain       *string   `bun:"domain"`
	IP           *string   `bun:"ip"`
	IsActive     bool      `bun:"is_active"`
	ActivatedAt  time.Time `bun:"activated_at"`
	CustomerID   *int64    `bun:"customer_id"`
	CustomerName *string   `bun:"customer_name"`
}

// RecentActivations returns the newest limit successful activations.
func RecentActivations(ctx context.Context, idb bun.IDB, limit int) ([]RecentActivation, error) {
	var out []RecentActivation
	err := idb.NewRaw(`SELECT a.id, a.license_id, a.license_code, p.name AS product_name, a.domain, a.ip,
			a.is_active, a.activated_at, c.id AS customer_id, c.name AS customer_name
		FROM activations AS a
		JOIN products AS p ON p.id = a.product_id
		LEFT JOIN licenses AS l ON l.id = a.license_id
		LEFT JOIN LATERAL (SELECT c.id, c.name FROM customers AS c WHERE `+customers.LinkCondition("l", "c")+` LIMIT 1) AS c ON true
		WHERE a.is_valid
		ORDER BY a.created_at DESC, a.id DESC
		LIMIT ?`, limit).Scan(ctx, &out)
	if err != nil {
		return nil, fmt.Errorf("recent activations: %w", err)
	}
	return out, nil
}
