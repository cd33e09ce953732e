// Package catalog owns products and their versions: the product model and
// its rules (api.md §5.1), product versions and their stored files
// (api.md §5.2, VersionService), the newest version of a product, and a
// per-node cache of products by reference id for the external API's hot
// paths.
package catalog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"
)

// ErrNotFound is returned when no product matches.
var ErrNotFound = errors.New("product not found")

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

	// License defaults, applied to new licenses (api.md §5.3).
	DefaultLicenseType      *string `bun:"default_license_type"`
	DefaultUses             *int    `bun:"default_uses"`
	DefaultParallelUses     *int    `bun:"default_parallel_uses"`
	DefaultExpiryDays       *int    `bun:"default_expiry_days"`
	DefaultUpdatesUntilDays *int    `bun:"default_updates_until_days"`
	DefaultSupportUntilDays *int    `bun:"default_support_until_days"`
	DefaultComments         *string `bun:"default_comments"`

	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

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
// when none matches and ref is all digits, a numeric id (api.md §5).
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
