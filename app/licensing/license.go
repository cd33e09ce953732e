// Package licensing owns licenses and activations and the rules of the external
// API: activation with race-free slot counting, verification, deactivation and
// the license check (docs/api/external.md: activate to license check), license
// codes, blocking, and the host, IP and blacklist matching those rules use.
// Nothing here speaks HTTP: operations take a Caller and a settings snapshot
// and return a Failure carrying the API's exact message and status_code, which
// handlers render.
package licensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
)

// Errors the delivery packages map.
var (
	ErrNotFound           = errkind.New(errkind.NotFound, "license not found")
	ErrActivationNotFound = errkind.New(errkind.NotFound, "activation not found")
)

// License statuses, derived (docs/api/resources.md).
const (
	StatusValid   = "valid"
	StatusExpired = "expired"
	StatusBlocked = "blocked"
)

// License is a license with the derived values every reader wants: its
// product's reference id and name, and its number of active activations.
type License struct {
	bun.BaseModel `bun:"table:licenses,alias:l"`

	ID           int64      `bun:"id,pk,autoincrement"`
	ProductID    int64      `bun:"product_id"`
	LicenseCode  string     `bun:"license_code"`
	Type         *string    `bun:"type"`
	CustomerID   *string    `bun:"customer_id"`
	Email        *string    `bun:"email"`
	Invoice      *string    `bun:"invoice"`
	Uses         *int       `bun:"uses"`
	ParallelUses *int       `bun:"parallel_uses"`
	ExpiresAt    *time.Time `bun:"expires_at"`
	ExpiryDays   *int       `bun:"expiry_days"`
	// ExpiryStart is when ExpiryDays start counting: catalog.ExpiryStarts
	// (docs/licensing.md#expiry-clock). ExpiryStartedAt is when the clock
	// started; nil while it waits, or when expires_at was set by hand.
	ExpiryStart     string     `bun:"expiry_start,nullzero"`
	ExpiryStartedAt *time.Time `bun:"expiry_started_at"`
	UpdatesUntil    *time.Time `bun:"updates_until"`
	SupportUntil    *time.Time `bun:"support_until"`
	Domains         []string   `bun:"domains,array"`
	IPs             []string   `bun:"ips,array"`
	// Entitlements are the product's feature names this license unlocks
	// (docs/licensing.md#entitlements), spelled as the product does.
	Entitlements []string `bun:"entitlements,array"`
	Comments     *string  `bun:"comments"`
	// HeartbeatInterval and HeartbeatMissed override the product's
	// heartbeat policy (nil: the product's); Floating makes parallel_uses
	// the number of live seats (docs/licensing.md#floating-licenses).
	HeartbeatInterval *int    `bun:"heartbeat_interval"`
	HeartbeatMissed   *string `bun:"heartbeat_missed"`
	Floating          bool    `bun:"floating"`
	IsValid           bool    `bun:"is_valid"`
	IsEnvato          bool    `bun:"is_envato"`
	// TotalActivations counts successful activations ever; it is kept in
	// the activation transaction so the uses check needs no count.
	TotalActivations int       `bun:"total_activations"`
	CreatedAt        time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt        time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`

	ProductReferenceID string `bun:"product_reference_id,scanonly"`
	ProductName        string `bun:"product_name,scanonly"`
	// ProductGraceDays is the product's grace_days
	// (docs/api/external.md#grace-period), for showing the grace period.
	ProductGraceDays *int `bun:"product_grace_days,scanonly"`
	// ProductEntitlements are the names the product defines: the ones
	// Entitlements may hold.
	ProductEntitlements []string `bun:"product_entitlements,array,scanonly"`
	// The product's heartbeat policy, for the license's effective one
	// (Heartbeat).
	ProductHeartbeatInterval  *int   `bun:"product_heartbeat_interval,scanonly"`
	ProductHeartbeatTolerance int    `bun:"product_heartbeat_tolerance,scanonly"`
	ProductHeartbeatMissed    string `bun:"product_heartbeat_missed,scanonly"`
	// ActiveActivations is the license's counter of active activations,
	// which triggers on activations keep in the transaction of every change
	// (migration 0110, docs/architecture.md#counting-active-activations):
	// read with the row, never written from here.
	ActiveActivations int `bun:"active_activations,scanonly"`
}

// Status is blocked (not valid), else expired (expires_at ≤ now), else
// valid.
func (l *License) Status(now time.Time) string {
	switch {
	case !l.IsValid:
		return StatusBlocked
	case l.Expired(now):
		return StatusExpired
	}
	return StatusValid
}

// Expired reports whether the license has an expiry at or before now.
func (l *License) Expired(now time.Time) bool {
	return l.ExpiresAt != nil && !l.ExpiresAt.After(now)
}

// GraceUntil is the end of the grace period after expires_at
// (docs/api/external.md#grace-period), nil when there is none.
func (l *License) GraceUntil() *time.Time {
	if l.ExpiresAt == nil || l.ProductGraceDays == nil || *l.ProductGraceDays <= 0 {
		return nil
	}
	t := fields.AddDays(*l.ExpiresAt, *l.ProductGraceDays)
	return &t
}

// InGrace reports whether the license has expired and is within its grace
// period at now: verify on the modern path still answers status true.
func (l *License) InGrace(now time.Time) bool {
	until := l.GraceUntil()
	return l.IsValid && l.Expired(now) && until != nil && until.After(now)
}

// ClockPending reports whether the license's expiry clock has yet to
// start: it has expiry days and no expires_at
// (docs/licensing.md#expiry-clock).
func (l *License) ClockPending() bool {
	return l.ExpiresAt == nil && l.ExpiryDays != nil && *l.ExpiryDays > 0
}

// startClock starts the expiry clock at now when it is pending.
func (l *License) startClock(now time.Time) bool {
	if !l.ClockPending() {
		return false
	}
	t := fields.AddDays(now, *l.ExpiryDays)
	l.ExpiresAt, l.ExpiryStartedAt = &t, &now
	return true
}

// ExpiryStartLabel says in words when the license's expiry clock starts,
// as the console and the portal show it.
func (l *License) ExpiryStartLabel() string {
	switch l.ExpiryStart {
	case catalog.ExpiryStartCreation:
		return "at creation"
	case catalog.ExpiryStartVerify:
		return "at the first verify"
	}
	return "at the first activation"
}

// UsesLeft is uses − total activations, nil when uses is unlimited.
func (l *License) UsesLeft() *int {
	if l.Uses == nil {
		return nil
	}
	n := max(*l.Uses-l.TotalActivations, 0)
	return &n
}

// ParallelUsesLeft is parallel uses − active activations, nil when
// unlimited, never below 0.
func (l *License) ParallelUsesLeft() *int {
	if l.ParallelUses == nil {
		return nil
	}
	n := max(*l.ParallelUses-l.ActiveActivations, 0)
	return &n
}

// selectLicenses starts a query for licenses with their derived values.
func selectLicenses(idb bun.IDB, dst any) *bun.SelectQuery {
	return idb.NewSelect().Model(dst).
		ColumnExpr("l.*").
		ColumnExpr("p.reference_id AS product_reference_id, p.name AS product_name, p.grace_days AS product_grace_days, p.entitlements AS product_entitlements").
		ColumnExpr("p.heartbeat_interval AS product_heartbeat_interval, p.heartbeat_tolerance AS product_heartbeat_tolerance, p.heartbeat_missed AS product_heartbeat_missed").
		Join("JOIN products AS p ON p.id = l.product_id")
}

// Get returns license id.
func Get(ctx context.Context, idb bun.IDB, id int64) (*License, error) {
	return oneLicense(ctx, idb, "l.id = ?", id)
}

// ByCode returns the license with code, ignoring case (codes are unique
// across all products).
func ByCode(ctx context.Context, idb bun.IDB, code string) (*License, error) {
	return oneLicense(ctx, idb, "l.license_code = ?", code)
}

// Find resolves a path reference of the internal API: a license code, else,
// when none matches and ref is all digits, a numeric id (docs/api/internal.md).
func Find(ctx context.Context, idb bun.IDB, ref string) (*License, error) {
	l, err := ByCode(ctx, idb, ref)
	if !errors.Is(err, ErrNotFound) {
		return l, err
	}
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
		return Get(ctx, idb, id)
	}
	return nil, ErrNotFound
}

func oneLicense(ctx context.Context, idb bun.IDB, where string, arg any) (*License, error) {
	l := new(License)
	if err := selectLicenses(idb, l).Where(where, arg).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get license (%v): %w", arg, err)
	}
	return l, nil
}
