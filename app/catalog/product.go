// Package catalog owns products and their versions: the product model and
// its rules (docs/api/internal.md#products), product versions and their stored files
// (docs/api/internal.md#versions, VersionService), the newest version of a product, and a
// per-node cache of products by reference id for the external API's hot
// paths.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
)

// ErrNotFound is returned when no product matches.
var ErrNotFound = errkind.New(errkind.NotFound, "product not found")

// Product is a product licenses are issued for.
type Product struct {
	bun.BaseModel `bun:"table:products,alias:p"`

	ID                 int64   `bun:"id,pk,autoincrement"`
	Name               string  `bun:"name"`
	ReferenceID        string  `bun:"reference_id"`
	EnvatoID           *string `bun:"envato_id"`
	Description        *string `bun:"description"`
	LicenseUpdate      bool    `bun:"license_update"`
	ServeLatestUpdates bool    `bun:"serve_latest_updates"`
	IsActive           bool    `bun:"is_active"`

	// License defaults, applied to new licenses (docs/api/internal.md#licenses).
	DefaultLicenseType      *string `bun:"default_license_type"`
	DefaultUses             *int    `bun:"default_uses"`
	DefaultParallelUses     *int    `bun:"default_parallel_uses"`
	DefaultExpiryDays       *int    `bun:"default_expiry_days"`
	DefaultUpdatesUntilDays *int    `bun:"default_updates_until_days"`
	DefaultSupportUntilDays *int    `bun:"default_support_until_days"`
	DefaultComments         *string `bun:"default_comments"`
	// DefaultExpiryStart is when a new license's expiry_days start
	// counting (docs/licensing.md#expiry-clock): one of ExpiryStarts.
	DefaultExpiryStart string `bun:"default_expiry_start,nullzero"`
	// DefaultFloating makes new licenses floating
	// (docs/licensing.md#floating-licenses) unless they are created with
	// floating set; copied at creation, as the other defaults are.
	DefaultFloating bool `bun:"default_floating"`

	// GraceDays is how many days after a license's expires_at verify
	// still answers status true, with LICENSE_IN_GRACE
	// (docs/api/external.md#grace-period). Nil or 0: no grace.
	GraceDays *int `bun:"grace_days"`

	// Entitlements are the feature names its licenses may carry;
	// DefaultEntitlements, a subset, are a new license's
	// (docs/licensing.md#entitlements).
	Entitlements        []string `bun:"entitlements,array"`
	DefaultEntitlements []string `bun:"default_entitlements,array"`

	// Heartbeat policy (docs/licensing.md#heartbeats-and-automatic-release):
	// activations must send a heartbeat every HeartbeatInterval seconds (nil:
	// no heartbeats asked); one late by more than HeartbeatTolerance seconds
	// is released, or only marked when HeartbeatMissed is "keep". A license
	// may override the interval and HeartbeatMissed.
	HeartbeatInterval  *int   `bun:"heartbeat_interval"`
	HeartbeatTolerance int    `bun:"heartbeat_tolerance"`
	HeartbeatMissed    string `bun:"heartbeat_missed,nullzero"`

	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// When a license's expiry_days start counting (docs/licensing.md#expiry-clock).
const (
	ExpiryStartCreation   = "creation"
	ExpiryStartActivation = "first_activation"
	ExpiryStartVerify     = "first_verify"
)

// ExpiryStarts are the expiry clock's starts, in the order forms list them.
var ExpiryStarts = []string{ExpiryStartCreation, ExpiryStartActivation, ExpiryStartVerify}

// CheckExpiryStart reports an expiry start that is not one of ExpiryStarts
// on field and returns start in lower case ("" stays "").
func CheckExpiryStart(verr *fields.Error, field, start string) string {
	start = strings.ToLower(strings.TrimSpace(start))
	if start != "" && !slices.Contains(ExpiryStarts, start) {
		verr.Add(field, fields.Selected(field)+" Use creation, first_activation or first_verify.")
	}
	return start
}

// GraceUntil is the end of the grace period of a license of p expiring
// at expiresAt: nil when the license never expires or p gives no grace.
func (p *Product) GraceUntil(expiresAt *time.Time) *time.Time {
	if expiresAt == nil || p.GraceDays == nil || *p.GraceDays <= 0 {
		return nil
	}
	t := expiresAt.AddDate(0, 0, *p.GraceDays)
	return &t
}

// What happens to an activation that misses its heartbeat
// (HeartbeatMissed).
const (
	HeartbeatRelease = "release"
	HeartbeatKeep    = "keep"
)

// Bounds of a heartbeat interval and tolerance, in seconds (migration 0083).
const (
	HeartbeatIntervalMin  = 60
	HeartbeatIntervalMax  = 30 * 24 * 3600
	HeartbeatToleranceMax = 24 * 3600
	// HeartbeatToleranceDefault is a new product's tolerance.
	HeartbeatToleranceDefault = 60
)

// Get returns the product with id.
func Get(ctx context.Context, idb bun.IDB, id int64) (*Product, error) {
	return oneProduct(ctx, idb, "p.id = ?", id)
}

// ByRef returns the product whose reference id is ref, ignoring case,
// active or not. The external API reads products through Cache instead.
func ByRef(ctx context.Context, idb bun.IDB, ref string) (*Product, error) {
	return oneProduct(ctx, idb, "p.reference_id = ?", ref)
}

// Find resolves a path reference of the internal API: a reference id, else,
// when none matches and ref is all digits, a numeric id (docs/api/internal.md).
func Find(ctx context.Context, idb bun.IDB, ref string) (*Product, error) {
	p, err := ByRef(ctx, idb, ref)
	if !errors.Is(err, ErrNotFound) {
		return p, err
	}
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
		return Get(ctx, idb, id)
	}
	return nil, ErrNotFound
}

func oneProduct(ctx context.Context, idb bun.IDB, where string, arg any) (*Product, error) {
	p := new(Product)
	if err := idb.NewSelect().Model(p).Where(where, arg).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get product (%v): %w", arg, err)
	}
	return p, nil
}
