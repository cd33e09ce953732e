package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/listing"
)

// LicenseFilter narrows ListLicenses. Zero fields do not filter.
type LicenseFilter struct {
	// Search matches license code, customer id or email.
	Search string
	// Code matches license codes containing it, ignoring case (the legacy
	// search_license looks at codes only).
	Code               string
	ProductReferenceID string
	CustomerID         string
	Email              string
	Type               string
	// Status is valid, expired or blocked, as of now; or FilterInGrace.
	Status string
	// Entitlement keeps the licenses carrying that entitlement (ignoring
	// case; docs/licensing.md#entitlements).
	Entitlement string
	// Customer keeps the licenses linked to that customer (linking rule).
	Customer *customers.Customer
	// CreatedFrom is inclusive, CreatedTo exclusive.
	CreatedFrom, CreatedTo time.Time
}

// FilterInGrace is the Status filter of expired licenses within their
// product's grace period (docs/api/external.md#grace-period);
// FilterClockPending the one of licenses whose expiry clock has yet to
// start (docs/licensing.md#expiry-clock).
const (
	FilterInGrace      = "in_grace"
	FilterClockPending = "clock_not_started"
)

// LicenseStatusFilters are the Status filters ListLicenses accepts: a
// license's status, and the states of grace and the expiry clock.
var LicenseStatusFilters = []string{StatusValid, StatusExpired, StatusBlocked, FilterInGrace, FilterClockPending}

// clockPendingSQL is License.ClockPending for l; licenses_clock_pending_idx
// (migration 0087) indexes it.
const clockPendingSQL = "l.expires_at IS NULL AND l.expiry_days > 0"

var licenseSorts = listing.Sorts{
	"id": "l.id", "created_at": "l.created_at", "updated_at": "l.updated_at",
	"license_code": "l.license_code", "expires_at": "l.expires_at", "email": "l.email", "customer_id": "l.customer_id",
}

// ListLicenses returns one page of licenses with their derived values and
// the number matching f, statuses judged at now.
func ListLicenses(ctx context.Context, idb bun.IDB, f LicenseFilter, sort string, page listing.Page, now time.Time) ([]License, int, error) {
	// The filters and the page are found on licenses alone; the joined
	// product and the active-activation count are then read for the page's
	// rows only (OFFSET would otherwise compute them for every row
	// skipped).
	n, err := filterLicenses(idb.NewSelect().TableExpr("licenses AS l"), f, now).Count(ctx)
	total := int(n)
	if err != nil {
		return nil, 0, fmt.Errorf("count licenses: %w", err)
	}
	if total == 0 || page.Offset() >= total {
		return nil, total, nil
	}
	ids := page.Apply(listing.Order(filterLicenses(idb.NewSelect().TableExpr("licenses AS l").Column("l.id"), f, now),
		sort, licenseSorts, "l.created_at", "l.id"))
	var out []License
	if err := listing.Order(selectLicenses(idb, &out).Where("l.id IN (?)", ids), sort, licenseSorts, "l.created_at", "l.id").
		Scan(ctx); err != nil {
		return nil, 0, fmt.Errorf("list licenses: %w", err)
	}
	return out, total, nil
}

// EachLicense calls fn with the licenses matching f (statuses judged at
// now), with their derived values, in id order, batch at a time (keyset
// paging: an export reads each row once and holds one batch).
func EachLicense(ctx context.Context, idb bun.IDB, f LicenseFilter, now time.Time, batch int, fn func([]License) error) error {
	var last int64
	for {
		var out []License
		q := filterLicenses(selectLicenses(idb, &out), f, now).Where("l.id > ?", last).OrderExpr("l.id").Limit(int64(batch))
		if err := q.Scan(ctx); err != nil {
			return fmt.Errorf("read licenses after %d: %w", last, err)
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

// licenseSearchExpr is what the search box matches: code, customer ID and
// email joined by a unit separator (never in a search pattern, so a match
// cannot span two of them); licenses_search_idx (a trigram index,
// migration 0015) indexes exactly this expression.
const licenseSearchExpr = `(l.license_code::text || E'\x1f' || coalesce(l.customer_id::text, '') || E'\x1f' || coalesce(l.email::text, ''))`

// filterLicenses restricts q, selecting from licenses AS l, to f.
func filterLicenses(q *bun.SelectQuery, f LicenseFilter, now time.Time) *bun.SelectQuery {
	if f.Search != "" {
		q = q.Where(licenseSearchExpr+" ILIKE ?", listing.Contains(f.Search))
	}
	if f.Code != "" {
		q = q.Where("l.license_code ILIKE ?", listing.Contains(f.Code))
	}
	if f.ProductReferenceID != "" {
		q = q.Where("l.product_id = (SELECT p.id FROM products AS p WHERE p.reference_id = ?)", f.ProductReferenceID)
	}
	if f.CustomerID != "" {
		q = q.Where("l.customer_id = ?", f.CustomerID)
	}
	if f.Email != "" {
		q = q.Where("l.email = ?", f.Email)
	}
	if f.Type != "" {
		q = q.Where("l.type = ?", f.Type)
	}
	switch f.Status {
	case StatusBlocked:
		q = q.Where("NOT l.is_valid")
	case StatusExpired:
		q = q.Where("l.is_valid AND l.expires_at <= ?", now)
	case StatusValid:
		q = q.Where("l.is_valid AND (l.expires_at IS NULL OR l.expires_at > ?)", now)
	case FilterInGrace:
		q = q.Where(`l.is_valid AND l.expires_at <= ?0 AND EXISTS (SELECT 1 FROM products AS gp
			WHERE gp.id = l.product_id AND gp.grace_days > 0 AND l.expires_at + gp.grace_days * interval '1 day' > ?0)`, now)
	case FilterClockPending:
		q = q.Where(clockPendingSQL)
	}
	if f.Entitlement != "" {
		// The product's spelling, so the GIN index answers.
		q = q.Where(`l.entitlements @> ARRAY(SELECT e FROM products AS ep, unnest(ep.entitlements) AS e
			WHERE ep.id = l.product_id AND lower(e) = lower(?))`, f.Entitlement).
			Where("cardinality(l.entitlements) > 0")
	}
	if f.Customer != nil {
		q = customers.WhereLinked(q, "l", f.Customer)
	}
	if !f.CreatedFrom.IsZero() {
		q = q.Where("l.created_at >= ?", f.CreatedFrom)
	}
	if !f.CreatedTo.IsZero() {
		q = q.Where("l.created_at < ?", f.CreatedTo)
	}
	return q
}

// CustomerLicense returns license id when it is c's (linking rule), else
// ErrNotFound: the portal checks every license id in a URL this way.
func CustomerLicense(ctx context.Context, idb bun.IDB, c *customers.Customer, id int64) (*License, error) {
	l := new(License)
	err := customers.WhereLinked(selectLicenses(idb, l).Where("l.id = ?", id), "l", c).Scan(ctx)
	if err != nil {
		return nil, notFoundOr(err, "get customer's license")
	}
	return l, nil
}
