package internalapi

import (
	"context"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
)

// Messages of the product actions (docs/api/internal.md).
const (
	msgProductDeleted     = "Product deleted successfully."
	msgProductActivated   = "Product activated successfully."
	msgProductDeactivated = "Product deactivated successfully."
)

// listProducts: GET /api/internal/products, filters search and is_active.
func (h *handlers) listProducts(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	search, _ := f.String("search")
	filter := catalog.ProductFilter{Search: search, IsActive: optFilterBool(f, "is_active")}
	sort, _ := f.String("sort")
	if err := f.Err(); err != nil {
		return err
	}
	page := h.pageRequest(c)
	list, total, err := catalog.ListProducts(c.Context(), h.db, filter, sort, page.Page)
	if err != nil {
		return err
	}
	out, err := h.presentProducts(c.Context(), h.db, list)
	if err != nil {
		return err
	}
	return c.JSON(newPage(out, total, page))
}

// createProduct: POST /api/internal/products.
func (h *handlers) createProduct(c fiber.Ctx, r *pipeline.Request) error {
	in, err := h.readProduct(c)
	if err != nil {
		return err
	}
	var out productResource
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		p, err := h.products.CreateProduct(ctx, tx, source(r), r.Settings, in)
		if err != nil {
			return err
		}
		out, err = h.presentProduct(ctx, tx, p)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusCreated, out)
}

// getProduct: GET /api/internal/products/{product}.
func (h *handlers) getProduct(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	out, err := h.presentProduct(c.Context(), h.db, p)
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, out)
}

// updateProduct: PUT or PATCH /api/internal/products/{product}; both are
// partial.
func (h *handlers) updateProduct(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	in, err := h.readProduct(c)
	if err != nil {
		return err
	}
	var out productResource
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		updated, err := h.products.UpdateProduct(ctx, tx, source(r), p.ID, in)
		if err != nil {
			return err
		}
		out, err = h.presentProduct(ctx, tx, updated)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, out)
}

// deleteProduct: DELETE /api/internal/products/{product}, with its
// versions, licenses and activations.
func (h *handlers) deleteProduct(c fiber.Ctx, r *pipeline.Request) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	var keys []string
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		if keys, err = catalog.ProductFileKeys(ctx, tx, p.ID); err != nil {
			return err
		}
		return h.products.DeleteProduct(ctx, tx, source(r), p.ID)
	})
	if err != nil {
		return err
	}
	if h.versions != nil {
		h.versions.SweepFiles(c.Context(), keys)
	}
	return respondAction(c, msgProductDeleted)
}

// activateProduct: POST /api/internal/activated-products/{product}.
func (h *handlers) activateProduct(c fiber.Ctx, r *pipeline.Request) error {
	return h.setProductActive(c, r, true, msgProductActivated)
}

// deactivateProduct: DELETE /api/internal/activated-products/{product}.
func (h *handlers) deactivateProduct(c fiber.Ctx, r *pipeline.Request) error {
	return h.setProductActive(c, r, false, msgProductDeactivated)
}

// setProductActive is idempotent: the same message whether or not the flag
// changed.
func (h *handlers) setProductActive(c fiber.Ctx, r *pipeline.Request, active bool, message string) error {
	p, err := resolveProduct(c.Context(), h.db, param(c, "product"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.products.SetProductActive(ctx, tx, source(r), p.ID, active)
		return err
	})
	if err != nil {
		return err
	}
	return respondAction(c, message)
}

// readProduct reads the fields of docs/api/internal.md#products. Lengths, formats and the
// rules between fields are the catalog's; here are the types.
func (h *handlers) readProduct(c fiber.Ctx) (catalog.ProductInput, error) {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return catalog.ProductInput{}, err
	}
	in := catalog.ProductInput{
		Name:                    optString(f, "name"),
		ReferenceID:             optString(f, "reference_id"),
		EnvatoID:                optText(f, "envato_id"),
		Description:             optText(f, "description"),
		LicenseUpdate:           optBool(f, "license_update"),
		ServeLatestUpdates:      optBool(f, "serve_latest_updates"),
		IsActive:                optBool(f, "is_active"),
		DefaultLicenseType:      optText(f, "default_license_type"),
		DefaultUses:             optInt(f, "default_uses"),
		DefaultParallelUses:     optInt(f, "default_parallel_uses"),
		DefaultExpiryDays:       optInt(f, "default_expiry_days"),
		DefaultUpdatesUntilDays: optInt(f, "default_updates_until_days"),
		DefaultSupportUntilDays: optInt(f, "default_support_until_days"),
		DefaultComments:         optText(f, "default_comments"),
		GraceDays:               optInt(f, "grace_days"),
		DefaultExpiryStart:      optString(f, "default_expiry_start"),
		Entitlements:            optList(f, "entitlements"),
		DefaultEntitlements:     optList(f, "default_entitlements"),
		HeartbeatInterval:       optInt(f, "heartbeat_interval"),
		HeartbeatTolerance:      optInt(f, "heartbeat_tolerance"),
		DefaultFloating:         optBool(f, "default_floating"),
	}
	if m := optText(f, "heartbeat_missed"); m.Set {
		in.HeartbeatMissed = fields.Some("")
		if m.Value != nil {
			in.HeartbeatMissed.Value = *m.Value
		}
	}
	if !f.Sent("is_active") && f.Has("status") {
		// The License Manager alias: "published" is active, anything
		// else is not.
		status, _ := f.String("status")
		in.IsActive.Value, in.IsActive.Set = strings.EqualFold(status, "published"), true
	}
	return in, f.Err()
}

// presentProduct shapes one product with its latest version.
func (h *handlers) presentProduct(ctx context.Context, idb bun.IDB, p *catalog.Product) (productResource, error) {
	out, err := h.presentProducts(ctx, idb, []catalog.Product{*p})
	if err != nil {
		return productResource{}, err
	}
	return out[0], nil
}

// presentProducts shapes products, reading their latest versions in one
// query.
func (h *handlers) presentProducts(ctx context.Context, idb bun.IDB, ps []catalog.Product) ([]productResource, error) {
	ids := make([]int64, len(ps))
	for i := range ps {
		ids[i] = ps[i].ID
	}
	latest, err := catalog.LatestVersions(ctx, idb, ids)
	if err != nil {
		return nil, err
	}
	out := make([]productResource, len(ps))
	for i := range ps {
		out[i] = presentProduct(&ps[i], latest[ps[i].ID])
	}
	return out, nil
}
