package internalapi

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/listing"
	"github.com/licensor/licensor/app/settings"
)

// legacyProductIDFormat is the product id LicenseBox generated when none
// was given: 8 upper-case hex characters.
const legacyProductIDFormat = "hex8"

// legacyProduct is a product as the legacy get_product and get_products
// show it.
type legacyProduct struct {
	ProductID                            string  `json:"product_id"`
	EnvatoItemID                         *string `json:"envato_item_id"`
	ProductName                          string  `json:"product_name"`
	ProductDetails                       *string `json:"product_details"`
	LatestVersion                        *string `json:"latest_version"`
	LatestVersionReleaseDate             *string `json:"latest_version_release_date"`
	IsProductActive                      bool    `json:"is_product_active"`
	RequiresLicenseForDownloadingUpdates bool    `json:"requires_license_for_downloading_updates"`
}

func presentLegacyProduct(p *catalog.Product, latest *catalog.LatestVersion, set *settings.Values) legacyProduct {
	out := legacyProduct{
		ProductID:                            p.ReferenceID,
		EnvatoItemID:                         p.EnvatoID,
		ProductName:                          p.Name,
		ProductDetails:                       p.Description,
		IsProductActive:                      p.IsActive,
		RequiresLicenseForDownloadingUpdates: p.LicenseUpdate,
	}
	if latest != nil {
		v := latest.Version
		out.LatestVersion = &v
		out.LatestVersionReleaseDate = legacyDate(&latest.ReleasedAt, set.Location())
	}
	return out
}

type legacyProductResponse struct {
	Status  bool   `json:"status"`
	Message string `json:"message"`
	legacyProduct
}

type legacyProductsResponse struct {
	Status   bool            `json:"status"`
	Message  string          `json:"message"`
	Products []legacyProduct `json:"products"`
}

type legacyAddProductResponse struct {
	Status    bool   `json:"status"`
	Message   string `json:"message"`
	ProductID string `json:"product_id"`
}

// legacyAddProduct: POST /api/add_product.
func (h *handlers) legacyAddProduct(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	if !f.Has("product_name") {
		return legacyMissing(c)
	}
	in := catalog.ProductInput{
		Name:        optString(f, "product_name"),
		EnvatoID:    optText(f, "envato_item_id"),
		Description: optText(f, "product_details"),
	}
	if f.Has("product_id") {
		in.ReferenceID = optString(f, "product_id")
		if f.Err() == nil && !isAlnum(in.ReferenceID.Value) {
			return pipeline.Error(c, fiber.StatusBadRequest, "Provided product ID is invalid, please check.")
		}
	}
	if err := f.Err(); err != nil {
		return legacyInvalid(c, err)
	}
	set := *r.Settings
	set.ProductUniqueIDFormat = legacyProductIDFormat
	var p *catalog.Product
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		p, err = h.products.CreateProduct(ctx, tx, source(r), &set, in)
		return err
	})
	if verr, ok := fields.As(err); ok {
		if verr.Map()["reference_id"] == fields.Taken("reference_id") {
			return legacyFail(c, "Provided product ID already exists, please recheck.")
		}
		return legacyFail(c, verr.First())
	}
	if err != nil {
		return err
	}
	return c.JSON(legacyAddProductResponse{
		Status:    true,
		Message:   fmt.Sprintf("New product %s having ID %s was successfully added.", p.Name, p.ReferenceID),
		ProductID: p.ReferenceID,
	})
}

// legacyGetProduct: POST /api/get_product.
func (h *handlers) legacyGetProduct(c fiber.Ctx, r *pipeline.Request) error {
	p, done, err := h.legacyProduct(c)
	if done || err != nil {
		return err
	}
	latest, err := catalog.NewestVersion(c.Context(), h.db, p.ID)
	if err != nil {
		return err
	}
	return c.JSON(legacyProductResponse{
		Status: true, Message: "Product details fetched successfully.",
		legacyProduct: presentLegacyProduct(p, latest, r.Settings),
	})
}

// legacyGetProducts: POST /api/get_products, every product, oldest first.
func (h *handlers) legacyGetProducts(c fiber.Ctx, r *pipeline.Request) error {
	var all []catalog.Product
	for page := 1; ; page++ {
		ps, total, err := catalog.ListProducts(c.Context(), h.db, catalog.ProductFilter{}, "id", listing.Page{Number: page, PerPage: listing.MaxPerPage})
		if err != nil {
			return err
		}
		all = append(all, ps...)
		if len(ps) == 0 || len(all) >= total {
			break
		}
	}
	ids := make([]int64, len(all))
	for i := range all {
		ids[i] = all[i].ID
	}
	latest, err := catalog.LatestVersions(c.Context(), h.db, ids)
	if err != nil {
		return err
	}
	out := make([]legacyProduct, len(all))
	for i := range all {
		out[i] = presentLegacyProduct(&all[i], latest[all[i].ID], r.Settings)
	}
	return c.JSON(legacyProductsResponse{Status: true, Message: "Products fetched successfully.", Products: out})
}

// legacyMarkProductActive: POST /api/mark_product_active.
func (h *handlers) legacyMarkProductActive(c fiber.Ctx, r *pipeline.Request) error {
	return h.legacySetProductActive(c, r, true)
}

// legacyMarkProductInactive: POST /api/mark_product_inactive.
func (h *handlers) legacyMarkProductInactive(c fiber.Ctx, r *pipeline.Request) error {
	return h.legacySetProductActive(c, r, false)
}

// legacySetProductActive answers status false, with its own message, when
// the product already had that state, as LicenseBox did.
func (h *handlers) legacySetProductActive(c fiber.Ctx, r *pipeline.Request, active bool) error {
	p, done, err := h.legacyProduct(c)
	if done || err != nil {
		return err
	}
	var changed bool
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		p, changed, err = h.products.SetProductActive(ctx, tx, source(r), p.ID, active)
		return err
	})
	if err != nil {
		return err
	}
	state := "active"
	if !active {
		state = "inactive"
	}
	if !changed {
		return legacyFail(c, fmt.Sprintf("Product %s is already %s.", p.Name, state))
	}
	return legacyOK(c, fmt.Sprintf("Product %s marked as %s.", p.Name, state))
}

// legacyProduct reads product_id, a reference id, and finds the product.
// done is true when the call has been answered (field missing, product
// unknown).
func (h *handlers) legacyProduct(c fiber.Ctx) (p *catalog.Product, done bool, err error) {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return nil, true, err
	}
	ref, ok := f.String("product_id")
	if !ok {
		return nil, true, legacyMissing(c)
	}
	p, err = catalog.ByRef(c.Context(), h.db, ref)
	if err != nil {
		return nil, true, legacyError(c, fiber.StatusOK, err)
	}
	return p, false, nil
}
