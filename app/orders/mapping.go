package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
)

// ErrNotMapped is a SKU without a product.
var ErrNotMapped = errors.New("SKU not mapped")

// Mapping is one SKU → product row of a plugin.
type Mapping struct {
	bun.BaseModel `bun:"table:order_sku_products,alias:osp"`

	Plugin    string    `bun:"plugin,pk"`
	SKU       string    `bun:"sku,pk"`
	ProductID int64     `bun:"product_id"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	// ProductName and ProductRef are read with the row, for the console.
	ProductName string `bun:"product_name,scanonly"`
	ProductRef  string `bun:"product_ref,scanonly"`
}

// MappedProduct returns the product plugin's sku stands for.
func MappedProduct(ctx context.Context, idb bun.IDB, plugin, sku string) (*catalog.Product, error) {
	var id int64
	err := idb.NewSelect().Table("order_sku_products").Column("product_id").
		Where("plugin = ? AND sku = ?", plugin, strings.TrimSpace(sku)).Scan(ctx, &id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotMapped
	}
	if err != nil {
		return nil, err
	}
	return catalog.Get(ctx, idb, id)
}

// Mappings lists plugin's SKUs, by SKU.
func Mappings(ctx context.Context, idb bun.IDB, plugin string) ([]Mapping, error) {
	var out []Mapping
	err := idb.NewSelect().Model(&out).
		ColumnExpr("osp.*, p.name AS product_name, p.reference_id AS product_ref").
		Join("JOIN products AS p ON p.id = osp.product_id").
		Where("osp.plugin = ?", plugin).OrderExpr("osp.sku").Scan(ctx)
	return out, err
}

// SetMapping maps sku of plugin to the product with reference productRef.
// A SKU maps to one product: to change it, delete the mapping first.
// Field errors: sku (empty, too long, already mapped), product.
func SetMapping(ctx context.Context, idb bun.IDB, plugin, sku, productRef string) (*Mapping, error) {
	sku, productRef = strings.TrimSpace(sku), strings.TrimSpace(productRef)
	var verr fields.Error
	switch {
	case sku == "":
		verr.Add("sku", fields.Required("sku"))
	case len(sku) > maxSKULen:
		verr.Add("sku", fields.Max("sku", maxSKULen))
	}
	var product *catalog.Product
	if productRef == "" {
		verr.Add("product", fields.Required("product"))
	} else {
		p, err := catalog.ByRef(ctx, idb, productRef)
		switch {
		case errors.Is(err, catalog.ErrNotFound):
			verr.Add("product", fields.Selected("product"))
		case err != nil:
			return nil, err
		default:
			product = p
		}
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	m := &Mapping{Plugin: plugin, SKU: sku, ProductID: product.ID, ProductName: product.Name, ProductRef: product.ReferenceID}
	res, err := idb.NewInsert().Model(m).On("CONFLICT (plugin, sku) DO NOTHING").Exec(ctx)
	if err != nil {
		return nil, fmt.Errorf("map SKU %s of %s: %w", sku, plugin, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		verr.Add("sku", fields.Taken("sku"))
		return nil, verr.Err()
	}
	return m, nil
}

// DeleteMapping removes sku from plugin's mapping.
func DeleteMapping(ctx context.Context, idb bun.IDB, plugin, sku string) error {
	_, err := idb.NewDelete().Table("order_sku_products").Where("plugin = ? AND sku = ?", plugin, sku).Exec(ctx)
	return err
}

// Log returns a page of plugin's processed orders, newest first, and the
// total.
func Log(ctx context.Context, idb bun.IDB, plugin string, limit, offset int) ([]Processed, int, error) {
	var out []Processed
	n, err := idb.NewSelect().Model(&out).Where("plugin = ?", plugin).
		OrderExpr("processed_at DESC, id DESC").Limit(int64(limit)).Offset(int64(offset)).ScanAndCount(ctx)
	return out, int(n), err
}

// Cursor returns where plugin's polling stopped ("" before the first poll).
func Cursor(ctx context.Context, idb bun.IDB, plugin string) (string, error) {
	var c string
	err := idb.NewSelect().Table("order_poll_cursors").Column("cursor").Where("plugin = ?", plugin).Scan(ctx, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return c, err
}

// SaveCursor stores where plugin's polling stopped.
func SaveCursor(ctx context.Context, idb bun.IDB, plugin, cursor string) error {
	_, err := idb.NewRaw(`INSERT INTO order_poll_cursors (plugin, cursor, polled_at) VALUES (?, ?, now())
		ON CONFLICT (plugin) DO UPDATE SET cursor = EXCLUDED.cursor, polled_at = now()`, plugin, cursor).Exec(ctx)
	return err
}
