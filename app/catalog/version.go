package catalog

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
)

// ErrVersionNotFound is returned when no version of a product matches.
var ErrVersionNotFound = errkind.New(errkind.NotFound, "product version not found")

// Version is a published (or unpublished) release of a product with its
// files (Files, loaded by every read here).
type Version struct {
	bun.BaseModel `bun:"table:product_versions,alias:v"`

	ID         int64     `bun:"id,pk,autoincrement"`
	ProductID  int64     `bun:"product_id"`
	VersionID  string    `bun:"version_id"`
	Version    string    `bun:"version"`
	ReleasedAt time.Time `bun:"released_at"`
	Summary    *string   `bun:"summary"`
	Changelog  *string   `bun:"changelog"`
	IsActive   bool      `bun:"is_active"`
	CreatedAt  time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt  time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`

	Files []*VersionFile `bun:"rel:has-many,join:id=version_id"`
}

// File types every version may have; plugins may register more.
const (
	FileMain = "main"
	FileSQL  = "sql"
)

// VersionFile is one stored file of a version. StorageKey opens it in the
// storage.Store; FileName is the name it was uploaded with, shown only.
type VersionFile struct {
	bun.BaseModel `bun:"table:version_files,alias:vf"`

	ID         int64     `bun:"id,pk,autoincrement"`
	VersionID  int64     `bun:"version_id"`
	Type       string    `bun:"type"`
	FileName   string    `bun:"file_name"`
	StorageKey string    `bun:"storage_key"`
	SHA256     string    `bun:"sha256"`
	Size       int64     `bun:"size"`
	CreatedAt  time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// File returns the version's file of type typ, or nil.
func (v *Version) File(typ string) *VersionFile {
	for _, f := range v.Files {
		if f.Type == typ {
			return f
		}
	}
	return nil
}

// FileName returns the upload name of the version's file of type typ, or
// nil when it has none (the resource's main_file / sql_file).
func (v *Version) FileName(typ string) *string {
	if f := v.File(typ); f != nil {
		return &f.FileName
	}
	return nil
}

// LatestVersion is the version a product resource shows as latest_version:
// its newest active Version.
type LatestVersion = Version

// SortNewestFirst orders versions by version number (docs/api/version-comparison.md), newest
// first; equal numbers keep the newer row first.
func SortNewestFirst(vs []Version) {
	slices.SortStableFunc(vs, func(a, b Version) int {
		if c := CompareVersions(b.Version, a.Version); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
}

// Versions returns every version of a product, newest first.
func Versions(ctx context.Context, idb bun.IDB, productID int64) ([]Version, error) {
	var vs []Version
	if err := idb.NewSelect().Model(&vs).Relation("Files").Where("v.product_id = ?", productID).Scan(ctx); err != nil {
		return nil, fmt.Errorf("versions of product %d: %w", productID, err)
	}
	SortNewestFirst(vs)
	return vs, nil
}

// GetVersion resolves a version reference of a product: a version id, else
// a version string of that product (docs/api/internal.md), ignoring case.
func GetVersion(ctx context.Context, idb bun.IDB, productID int64, ref string) (*Version, error) {
	v := new(Version)
	err := idb.NewSelect().Model(v).Relation("Files").
		Where("v.product_id = ? AND (v.version_id = ? OR v.version = ?)", productID, ref, ref).
		// A version id wins over a version string that happens to equal it.
		OrderExpr("v.version_id = ? DESC", ref).Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrVersionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("version %q of product %d: %w", ref, productID, err)
	}
	return v, nil
}

// NewestVersion returns the newest active version of a product by version
// number, or nil when it has none.
func NewestVersion(ctx context.Context, idb bun.IDB, productID int64) (*Version, error) {
	latest, err := LatestVersions(ctx, idb, []int64{productID})
	if err != nil {
		return nil, err
	}
	return latest[productID], nil
}

// LatestVersions returns the newest active version of each of the products
// that has one, by product id, in one query for a whole page of products.
// Newest means the highest version number (docs/api/version-comparison.md), not the latest
// release date: an admin may back-date a release.
func LatestVersions(ctx context.Context, idb bun.IDB, productIDs []int64) (map[int64]*LatestVersion, error) {
	out := make(map[int64]*LatestVersion, len(productIDs))
	if len(productIDs) == 0 {
		return out, nil
	}
	var vs []Version
	err := idb.NewSelect().Model(&vs).Relation("Files").
		Where("v.product_id IN (?) AND v.is_active", bun.List(productIDs)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("latest versions of products %v: %w", productIDs, err)
	}
	SortNewestFirst(vs)
	for i := range vs {
		if _, ok := out[vs[i].ProductID]; !ok {
			out[vs[i].ProductID] = &vs[i]
		}
	}
	return out, nil
}

// VersionByID returns version id of product productID (a row id, as the
// console's URLs carry).
func VersionByID(ctx context.Context, idb bun.IDB, productID, id int64) (*Version, error) {
	v := new(Version)
	err := idb.NewSelect().Model(v).Relation("Files").Where("v.product_id = ? AND v.id = ?", productID, id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrVersionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("version %d of product %d: %w", id, productID, err)
	}
	return v, nil
}

// VersionByVersionID returns the version whose version_id is ref, ignoring
// case, across all products (the update endpoints' {version_id}).
func VersionByVersionID(ctx context.Context, idb bun.IDB, ref string) (*Version, error) {
	v := new(Version)
	err := idb.NewSelect().Model(v).Relation("Files").Where("v.version_id = ?", ref).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrVersionNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("version %q: %w", ref, err)
	}
	return v, nil
}
