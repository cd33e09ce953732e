package reports

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/uptrace/bun"
)

// Change is a count over a period and over the period before it, for the
// dashboard's growth figures.
type Change struct {
	Now, Before int
}

// Percent is the growth from Before to Now in whole percent, and false
// when there is nothing to compare with (Before is 0).
func (c Change) Percent() (int, bool) {
	if c.Before == 0 {
		return 0, false
	}
	return int(math.Round(float64(c.Now-c.Before) * 100 / float64(c.Before))), true
}

// Label is the growth as the dashboard's tiles print it: "+12%", "−5%",
// "±0%", or "new" when the previous period had none and this one has some.
func (c Change) Label() string {
	p, ok := c.Percent()
	switch {
	case !ok && c.Now > 0:
		return "new"
	case !ok:
		return ""
	case p > 0:
		return fmt.Sprintf("+%d%%", p)
	case p < 0:
		return fmt.Sprintf("−%d%%", -p)
	}
	return "±0%"
}

// Direction is up, down or flat, for the tile's colour.
func (c Change) Direction() string {
	switch {
	case c.Now > c.Before:
		return "up"
	case c.Now < c.Before:
		return "down"
	}
	return "flat"
}

// Growth is what happened in the last days days against the days before
// them: customers joined, licenses created, successful activations,
// downloads served and API calls.
type Growth struct {
	Customers, Licenses, Activations, Downloads, APICalls Change
}

// GrowthOver counts the period ending now (the days days ending today,
// as the charts show them) and the period of the same length before it.
func GrowthOver(ctx context.Context, idb bun.IDB, now time.Time, days int) (Growth, error) {
	days = max(days, 1)
	start := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	prev := start.AddDate(0, 0, -days)
	var r struct {
		CustomersNow, CustomersBefore     int
		LicensesNow, LicensesBefore       int
		ActivationsNow, ActivationsBefore int
		DownloadsNow, DownloadsBefore     int
		CallsNow, CallsBefore             int
	}
	err := idb.NewRaw(`SELECT
		(SELECT count(*) FROM customers WHERE created_at >= ?0) AS customers_now,
		(SELECT count(*) FROM customers WHERE created_at >= ?1 AND created_at < ?0) AS customers_before,
		(SELECT count(*) FROM licenses WHERE created_at >= ?0) AS licenses_now,
		(SELECT count(*) FROM licenses WHERE created_at >= ?1 AND created_at < ?0) AS licenses_before,
		(SELECT count(*) FROM activations WHERE is_valid AND created_at >= ?0) AS activations_now,
		(SELECT count(*) FROM activations WHERE is_valid AND created_at >= ?1 AND created_at < ?0) AS activations_before,
		(SELECT count(*) FROM download_logs WHERE is_valid AND downloaded_at >= ?0) AS downloads_now,
		(SELECT count(*) FROM download_logs WHERE is_valid AND downloaded_at >= ?1 AND downloaded_at < ?0) AS downloads_before,
		(SELECT coalesce(sum(calls), 0) FROM api_call_counts WHERE day >= ?0::date) AS calls_now,
		(SELECT coalesce(sum(calls), 0) FROM api_call_counts WHERE day >= ?1::date AND day < ?0::date) AS calls_before`,
		start, prev).Scan(ctx, &r)
	if err != nil {
		return Growth{}, fmt.Errorf("growth: %w", err)
	}
	return Growth{
		Customers:   Change{r.CustomersNow, r.CustomersBefore},
		Licenses:    Change{r.LicensesNow, r.LicensesBefore},
		Activations: Change{r.ActivationsNow, r.ActivationsBefore},
		Downloads:   Change{r.DownloadsNow, r.DownloadsBefore},
		APICalls:    Change{r.CallsNow, r.CallsBefore},
	}, nil
}

// LastDay is the activity of the 24 hours before now.
type LastDay struct {
	Customers          int `bun:"customers"`
	Licenses           int `bun:"licenses"`
	Activations        int `bun:"activations"`
	FailedActivations  int `bun:"failed_activations"`
	Deactivations      int `bun:"deactivations"`
	Downloads          int `bun:"downloads"`
	RefusedDownloads   int `bun:"refused_downloads"`
	BlockedLicenses    int `bun:"blocked_licenses"`
	ActivityLogEntries int `bun:"activity"`
}

// Last24Hours counts what happened in the 24 hours before now.
func Last24Hours(ctx context.Context, idb bun.IDB, now time.Time) (LastDay, error) {
	since := now.Add(-24 * time.Hour)
	var d LastDay
	err := idb.NewRaw(`SELECT
		(SELECT count(*) FROM customers WHERE created_at >= ?0) AS customers,
		(SELECT count(*) FROM licenses WHERE created_at >= ?0) AS licenses,
		(SELECT count(*) FROM activations WHERE is_valid AND created_at >= ?0) AS activations,
		(SELECT count(*) FROM activations WHERE NOT is_valid AND created_at >= ?0) AS failed_activations,
		(SELECT count(*) FROM activations WHERE deactivated_at >= ?0) AS deactivations,
		(SELECT count(*) FROM download_logs WHERE is_valid AND downloaded_at >= ?0) AS downloads,
		(SELECT count(*) FROM download_logs WHERE NOT is_valid AND downloaded_at >= ?0) AS refused_downloads,
		(SELECT count(*) FROM activity_log WHERE type = 'license.blocked' AND created_at >= ?0) AS blocked_licenses,
		(SELECT count(*) FROM activity_log WHERE created_at >= ?0) AS activity`, since).Scan(ctx, &d)
	if err != nil {
		return LastDay{}, fmt.Errorf("last 24 hours: %w", err)
	}
	return d, nil
}

// ProductLicenses is a product with its number of licenses and of active
// activations.
type ProductLicenses struct {
	ID          int64  `bun:"id"`
	Name        string `bun:"name"`
	ReferenceID string `bun:"reference_id"`
	Licenses    int    `bun:"licenses"`
	Activations int    `bun:"activations"`
}

// TopProducts returns the products with the most licenses, most first
// (products without licenses left out), at most limit, and the number of
// licenses of all products, so a share chart can add "Other".
func TopProducts(ctx context.Context, idb bun.IDB, limit int) ([]ProductLicenses, int, error) {
	var out []ProductLicenses
	err := idb.NewRaw(`SELECT p.id, p.name, p.reference_id, l.n AS licenses,
			(SELECT count(*) FROM activations a WHERE a.product_id = p.id AND a.is_active) AS activations
		FROM (SELECT product_id, count(*) AS n FROM licenses GROUP BY product_id) l
		JOIN products p ON p.id = l.product_id
		ORDER BY l.n DESC, p.name LIMIT ?`, limit).Scan(ctx, &out)
	if err != nil {
		return nil, 0, fmt.Errorf("top products: %w", err)
	}
	var total int
	if err := idb.NewRaw(`SELECT count(*) FROM licenses`).Scan(ctx, &total); err != nil {
		return nil, 0, fmt.Errorf("count licenses: %w", err)
	}
	return out, total, nil
}

// Health is what the dashboard's API health widget shows: whether the
// database answers and how fast, the job queue's backlog and failures,
// and when the expiry scan last finished.
type Health struct {
	DatabaseLatency time.Duration
	// Backlog are jobs due now and not yet running (available, or
	// scheduled or retryable with their time passed).
	Backlog int `bun:"backlog"`
	// Retrying jobs failed at least once and wait to run again.
	Retrying int `bun:"retrying"`
	// Discarded jobs gave up in the 24 hours before now.
	Discarded      int        `bun:"discarded"`
	LastExpiryScan *time.Time `bun:"last_expiry_scan"`
	// FailedActivationRate is the share of activation attempts refused in
	// the 24 hours before now, in percent; -1 without attempts.
	FailedActivationRate int `bun:"failed_activation_rate"`
}

// HealthAt reads the job queue (River's river_job table, in the same
// database) and the activations of the last 24 hours; the time the query
// takes is the database latency.
func HealthAt(ctx context.Context, idb bun.IDB, now time.Time) (Health, error) {
	var h Health
	start := time.Now()
	err := idb.NewRaw(`SELECT
		(SELECT count(*) FROM river_job WHERE state = 'available' OR (state IN ('scheduled', 'retryable') AND scheduled_at <= ?0)) AS backlog,
		(SELECT count(*) FROM river_job WHERE state = 'retryable') AS retrying,
		(SELECT count(*) FROM river_job WHERE state = 'discarded' AND finalized_at >= ?1) AS discarded,
		(SELECT max(finalized_at) FROM river_job WHERE kind = 'expiry_scan' AND state = 'completed') AS last_expiry_scan,
		(SELECT CASE WHEN count(*) = 0 THEN -1 ELSE round(100.0 * count(*) FILTER (WHERE NOT is_valid) / count(*))::int END
			FROM activations WHERE created_at >= ?1) AS failed_activation_rate`,
		now, now.Add(-24*time.Hour)).Scan(ctx, &h)
	if err != nil {
		return Health{}, fmt.Errorf("health: %w", err)
	}
	h.DatabaseLatency = time.Since(start)
	return h, nil
}
