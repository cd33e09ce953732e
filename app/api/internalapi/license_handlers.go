package internalapi

import (
	"context"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/licensing"
)

// Messages of the license actions (docs/api/internal.md).
const (
	msgLicenseDeleted   = "Product license deleted successfully."
	msgLicenseBlocked   = "Product license blocked successfully."
	msgLicenseUnblocked = "Product license unblocked successfully."
)

// listLicenses: GET /api/internal/product-licenses, filters search (alias
// keyword), product_reference_id, customer_id, email and status.
func (h *handlers) listLicenses(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	f.Alias("search", "keyword")
	var filter licensing.LicenseFilter
	filter.Search, _ = f.String("search")
	filter.ProductReferenceID, _ = f.String("product_reference_id")
	filter.Email, _ = f.String("email")
	filter.Status, _ = f.Enum("status", licensing.LicenseStatusFilters)
	customerID, _ := f.String("customer_id")
	sort, _ := f.String("sort")
	if err := f.Err(); err != nil {
		return err
	}
	if customerID != "" {
		// A customer's licenses are those the linking rule gives them,
		// including the ones linked by their proven email; a
		// customer_id no account holds still finds the licenses naming it.
		cust, err := customers.ByClientID(c.Context(), h.db, customerID)
		if err := errkind.IgnoreNotFound(err); err != nil {
			return err
		}
		if cust != nil {
			filter.Customer = cust
		} else {
			filter.CustomerID = customerID
		}
	}
	page := h.pageRequest(c)
	list, total, err := licensing.ListLicenses(c.Context(), h.db, filter, sort, page.Page, r.Now)
	if err != nil {
		return err
	}
	out := make([]licenseResource, len(list))
	for i := range list {
		out[i] = presentLicense(&list[i], r.Now)
	}
	return c.JSON(newPage(out, total, page))
}

// createLicense: POST /api/internal/product-licenses. What the request
// leaves out comes from the product's defaults; the code is generated per
// the license code settings when none is given.
func (h *handlers) createLicense(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	in := readLicense(f, r)
	if err := f.Err(); err != nil {
		return err
	}
	var l *licensing.License
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		l, err = h.licenses.CreateLicense(ctx, tx, source(r), r.Settings, in)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusCreated, presentLicense(l, r.Now))
}

// getLicense: GET /api/internal/product-licenses/{license}.
func (h *handlers) getLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentLicense(l, r.Now))
}

// renewLicense: POST /api/internal/product-licenses/{license}/renew
// (docs/licensing.md#renewals): days optional, else the product's renewal
// period. Answers the renewed license.
func (h *handlers) renewLicense(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	days := optInt(f, "days")
	if err := f.Err(); err != nil {
		return err
	}
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	var renewed *licensing.License
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		renewed, _, err = h.licenses.RenewLicense(ctx, tx, source(r), l.ID, days.Value)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentLicense(renewed, r.Now))
}

// licenseFile: GET /api/internal/product-licenses/{license}/file, the
// signed license file of docs/api/signing.md#license-files as a download. The customer in it is
// the linked customer (linking rule), else the license's own customer_id
// and email.
func (h *handlers) licenseFile(c fiber.Ctx, r *pipeline.Request) error {
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	cust, err := customers.LinkedTo(c.Context(), h.db, l.CustomerID, l.Email)
	if err != nil {
		return err
	}
	name, file, err := licensing.LicenseFile(h.signing, l, cust, r.Now)
	if err != nil {
		return err
	}
	// Attachment guesses a type from the .lic extension; the file is text.
	c.Attachment(name)
	c.Set(fiber.HeaderContentType, fiber.MIMETextPlainCharsetUTF8)
	return c.Send(file)
}

// updateLicense: PUT or PATCH /api/internal/product-licenses/{license};
// both are partial. is_valid false blocks the license with every effect of
// the block endpoint.
func (h *handlers) updateLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	in := readLicense(f, r)
	if err := f.Err(); err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		l, err = h.licenses.UpdateLicense(ctx, tx, source(r), r.Settings, l.ID, in)
		return err
	})
	if err != nil {
		return err
	}
	return respondData(c, fiber.StatusOK, presentLicense(l, r.Now))
}

// deleteLicense: DELETE /api/internal/product-licenses/{license}, with its
// activations.
func (h *handlers) deleteLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		return h.licenses.DeleteLicense(ctx, tx, source(r), l.ID)
	})
	if err != nil {
		return err
	}
	return respondAction(c, msgLicenseDeleted)
}

// blockLicense: POST /api/internal/blocked-product-licenses/{license};
// its active activations are deactivated in the same transaction.
func (h *handlers) blockLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licenses.Block(ctx, tx, source(r), l.ID)
		return err
	})
	if err != nil {
		return err
	}
	return respondAction(c, msgLicenseBlocked)
}

// unblockLicense: DELETE /api/internal/blocked-product-licenses/{license}.
func (h *handlers) unblockLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, err := resolveLicense(c.Context(), h.db, param(c, "license"))
	if err != nil {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		_, _, err := h.licenses.Unblock(ctx, tx, source(r), l.ID)
		return err
	})
	if err != nil {
		return err
	}
	return respondAction(c, msgLicenseUnblocked)
}

// readLicense reads the fields of docs/api/internal.md#licenses with their aliases. Lengths,
// formats, list entries and the product's existence are the licensing
// package's rules; here are the types.
func readLicense(f *apirequest.Fields, r *pipeline.Request) licensing.LicenseInput {
	f.Alias("product_reference_id", "product_id")
	f.Alias("type", "license_type")
	f.Alias("customer_id", "client", "client_name")
	f.Alias("email", "client_email")
	loc := r.Settings.Location()
	return licensing.LicenseInput{
		ProductReferenceID: optString(f, "product_reference_id"),
		LicenseCode:        optString(f, "license_code"),
		Type:               optText(f, "type"),
		CustomerID:         optText(f, "customer_id"),
		Email:              optText(f, "email"),
		Invoice:            optText(f, "invoice"),
		Comments:           optText(f, "comments"),
		Uses:               optInt(f, "uses"),
		ParallelUses:       optInt(f, "parallel_uses"),
		ExpiryDays:         optInt(f, "expiry_days"),
		ExpiryStart:        optString(f, "expiry_start"),
		ExpiresAt:          optDate(f, "expires_at", loc),
		UpdatesUntil:       optDate(f, "updates_until", loc),
		SupportUntil:       optDate(f, "support_until", loc),
		Domains:            optList(f, "domains"),
		IPs:                optList(f, "ips"),
		Entitlements:       optList(f, "entitlements"),
		IsValid:            optBool(f, "is_valid"),
		IsEnvato:           optBool(f, "is_envato"),
		Floating:           optBool(f, "floating"),
		HeartbeatInterval:  optInt(f, "heartbeat_interval"),
		HeartbeatMissed:    optText(f, "heartbeat_missed"),
	}
}
