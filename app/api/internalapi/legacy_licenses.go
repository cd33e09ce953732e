package internalapi

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/listing"
)

// legacySearchLimit is how many licenses search_license lists at most.
const legacySearchLimit = 10

// legacyLicense is a license as the legacy get_license shows it.
type legacyLicense struct {
	Status                      bool    `json:"status"`
	Message                     string  `json:"message"`
	LicenseCode                 string  `json:"license_code"`
	ProductID                   string  `json:"product_id"`
	ProductName                 string  `json:"product_name"`
	LicenseType                 *string `json:"license_type"`
	ClientName                  *string `json:"client_name"`
	ClientEmail                 *string `json:"client_email"`
	InvoiceNumber               *string `json:"invoice_number"`
	LicenseComments             *string `json:"license_comments"`
	LicensedIPs                 *string `json:"licensed_ips"`
	LicensedDomains             *string `json:"licensed_domains"`
	Uses                        *int    `json:"uses"`
	UsesLeft                    *int    `json:"uses_left"`
	ParallelUses                *int    `json:"parallel_uses"`
	ParallelUsesLeft            *int    `json:"parallel_uses_left"`
	LicenseExpiry               *string `json:"license_expiry"`
	SupportExpiry               *string `json:"support_expiry"`
	UpdatesExpiry               *string `json:"updates_expiry"`
	DateModified                *string `json:"date_modified"`
	IsBlocked                   bool    `json:"is_blocked"`
	IsAEnvatoPurchaseCode       bool    `json:"is_a_envato_purchase_code"`
	IsValidForFutureActivations bool    `json:"is_valid_for_future_activations"`
}

type legacyCreateLicenseResponse struct {
	Status      bool   `json:"status"`
	Message     string `json:"message"`
	LicenseCode string `json:"license_code"`
}

// legacySearchResult is one license of search_license.
type legacySearchResult struct {
	ProductID   string  `json:"product_id"`
	LicenseCode string  `json:"license_code"`
	LicenseType *string `json:"license_type"`
	ClientName  *string `json:"client_name"`
	ClientEmail *string `json:"client_email"`
}

// legacySearchResponse: results is the list, or a sentence when nothing
// matched (LicenseBox's shape).
type legacySearchResponse struct {
	Status       bool   `json:"status"`
	Message      string `json:"message"`
	ResultsCount int    `json:"results_count"`
	Results      any    `json:"results"`
}

// legacyCreateLicense: POST /api/create_license.
func (h *handlers) legacyCreateLicense(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	ref, ok := f.String("product_id")
	if !ok {
		return legacyMissing(c)
	}
	in, done, err := readLegacyLicense(c, f, r)
	if done {
		return err
	}
	p, err := catalog.ByRef(c.Context(), h.db, ref)
	if err != nil {
		return legacyError(c, fiber.StatusOK, err)
	}
	in.ProductReferenceID = fields.Some(p.ReferenceID)
	var l *licensing.License
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		l, err = h.licenses.CreateLicense(ctx, tx, source(r), r.Settings, in)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return legacyLicenseInvalid(c, verr)
	}
	if err != nil {
		return err
	}
	return c.JSON(legacyCreateLicenseResponse{
		Status:      true,
		Message:     fmt.Sprintf("New %s license %s was successfully added.", p.Name, l.LicenseCode),
		LicenseCode: l.LicenseCode,
	})
}

// legacyEditLicense: POST /api/edit_license. A field not sent keeps its
// value; one sent empty is cleared.
func (h *handlers) legacyEditLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, f, done, err := h.legacyLicense(c)
	if done {
		return err
	}
	in, done, err := readLegacyLicense(c, f, r)
	if done {
		return err
	}
	in.LicenseCode = fields.Optional[string]{}
	if f.Has("product_id") {
		in.ProductReferenceID = optString(f, "product_id")
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		_, err := h.licenses.UpdateLicense(ctx, tx, source(r), r.Settings, l.ID, in)
		return err
	})
	if verr, ok := fields.As(err); ok {
		return legacyLicenseInvalid(c, verr)
	}
	if err != nil {
		return err
	}
	return legacyOK(c, fmt.Sprintf("License %s was successfully edited.", l.LicenseCode))
}

// legacyGetLicense: POST /api/get_license.
func (h *handlers) legacyGetLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, _, done, err := h.legacyLicense(c)
	if done {
		return err
	}
	loc := r.Settings.Location()
	usesLeft := l.UsesLeft()
	return c.JSON(legacyLicense{
		Status:                true,
		Message:               "License details fetched successfully.",
		LicenseCode:           l.LicenseCode,
		ProductID:             l.ProductReferenceID,
		ProductName:           l.ProductName,
		LicenseType:           l.Type,
		ClientName:            l.CustomerID,
		ClientEmail:           l.Email,
		InvoiceNumber:         l.Invoice,
		LicenseComments:       l.Comments,
		LicensedIPs:           commaList(l.IPs),
		LicensedDomains:       commaList(l.Domains),
		Uses:                  l.Uses,
		UsesLeft:              usesLeft,
		ParallelUses:          l.ParallelUses,
		ParallelUsesLeft:      l.ParallelUsesLeft(),
		LicenseExpiry:         legacyDate(l.ExpiresAt, loc),
		SupportExpiry:         legacyDate(l.SupportUntil, loc),
		UpdatesExpiry:         legacyDate(l.UpdatesUntil, loc),
		DateModified:          legacyDate(&l.UpdatedAt, loc),
		IsBlocked:             !l.IsValid,
		IsAEnvatoPurchaseCode: l.IsEnvato,
		// Whether activate could succeed, limits of uses aside from
		// parallel ones (a slot may be freed): not blocked, not expired,
		// uses left.
		IsValidForFutureActivations: l.Status(r.Now) == licensing.StatusValid && (usesLeft == nil || *usesLeft > 0),
	})
}

// legacySearchLicense: POST /api/search_license, at most 10 licenses whose
// code contains keyword, newest first.
func (h *handlers) legacySearchLicense(c fiber.Ctx, r *pipeline.Request) error {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return err
	}
	keyword, ok := f.String("keyword")
	if !ok {
		return pipeline.Error(c, fiber.StatusBadRequest, "No keywords were provided for the search, please check.")
	}
	list, _, err := licensing.ListLicenses(c.Context(), h.db, licensing.LicenseFilter{Code: keyword}, "",
		listing.Page{Number: 1, PerPage: legacySearchLimit}, r.Now)
	if err != nil {
		return err
	}
	out := legacySearchResponse{Status: true, Message: "Search results fetched successfully.", ResultsCount: len(list)}
	if len(list) == 0 {
		out.Results = "No corresponding license was found."
		return c.JSON(out)
	}
	results := make([]legacySearchResult, len(list))
	for i, l := range list {
		results[i] = legacySearchResult{
			ProductID: l.ProductReferenceID, LicenseCode: l.LicenseCode, LicenseType: l.Type,
			ClientName: l.CustomerID, ClientEmail: l.Email,
		}
	}
	out.Results = results
	return c.JSON(out)
}

// legacyDeleteLicense: POST /api/delete_license, with its activations.
func (h *handlers) legacyDeleteLicense(c fiber.Ctx, r *pipeline.Request) error {
	l, _, done, err := h.legacyLicense(c)
	if done {
		return err
	}
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		return h.licenses.DeleteLicense(ctx, tx, source(r), l.ID)
	})
	if err != nil {
		return err
	}
	return legacyOK(c, fmt.Sprintf("License %s was successfully deleted.", l.LicenseCode))
}

// legacyBlockLicense: POST /api/block_license.
func (h *handlers) legacyBlockLicense(c fiber.Ctx, r *pipeline.Request) error {
	return h.legacySetBlocked(c, r, true)
}

// legacyUnblockLicense: POST /api/unblock_license.
func (h *handlers) legacyUnblockLicense(c fiber.Ctx, r *pipeline.Request) error {
	return h.legacySetBlocked(c, r, false)
}

// legacySetBlocked answers status false, with its own message, when the
// license already had that state.
func (h *handlers) legacySetBlocked(c fiber.Ctx, r *pipeline.Request, block bool) error {
	l, _, done, err := h.legacyLicense(c)
	if done {
		return err
	}
	var changed bool
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		if block {
			_, changed, err = h.licenses.Block(ctx, tx, source(r), l.ID)
		} else {
			_, changed, err = h.licenses.Unblock(ctx, tx, source(r), l.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	state := "blocked"
	if !block {
		state = "unblocked"
	}
	if !changed {
		return legacyFail(c, fmt.Sprintf("License %s is already %s.", l.LicenseCode, state))
	}
	return legacyOK(c, fmt.Sprintf("License %s was successfully %s.", l.LicenseCode, state))
}

// legacyDeactivateLicenseActivations: POST
// /api/deactivate_license_activations, every active activation of the
// license (reason admin).
func (h *handlers) legacyDeactivateLicenseActivations(c fiber.Ctx, r *pipeline.Request) error {
	l, _, done, err := h.legacyLicense(c)
	if done {
		return err
	}
	var n int
	err = h.inTx(c.Context(), func(ctx context.Context, tx bun.IDB) error {
		n, err = h.licenses.DeactivateLicenseActivations(ctx, tx, source(r), l.ID)
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return legacyFail(c, fmt.Sprintf("License %s is already deactivated.", l.LicenseCode))
	}
	return legacyOK(c, fmt.Sprintf("License %s was successfully deactivated.", l.LicenseCode))
}

// legacyLicense reads license_code and finds the license. done is true
// when the call has been answered (or failed with err).
func (h *handlers) legacyLicense(c fiber.Ctx) (*licensing.License, *apirequest.Fields, bool, error) {
	f, err := h.pipeline.ReadFields(c)
	if err != nil {
		return nil, nil, true, err
	}
	code, ok := f.String("license_code")
	if !ok {
		return nil, nil, true, legacyMissing(c)
	}
	l, err := licensing.ByCode(c.Context(), h.db, code)
	if err != nil {
		return nil, nil, true, legacyError(c, fiber.StatusOK, err)
	}
	return l, f, false, nil
}

// readLegacyLicense reads the license fields of create_license and
// edit_license under their legacy names (docs/api/legacy.md): absent keeps (or, on
// create, takes the product's default), present but empty clears. done is
// true when the call has been answered.
func readLegacyLicense(c fiber.Ctx, f *apirequest.Fields, r *pipeline.Request) (licensing.LicenseInput, bool, error) {
	loc := r.Settings.Location()
	in := licensing.LicenseInput{
		LicenseCode:  optString(f, "license_code"),
		Type:         optText(f, "license_type"),
		Invoice:      optText(f, "invoice_number"),
		CustomerID:   optText(f, "client_name"),
		Email:        optText(f, "client_email"),
		Comments:     optText(f, "comments"),
		IPs:          optList(f, "licensed_ips"),
		Domains:      optList(f, "licensed_domains"),
		SupportUntil: optDate(f, "support_end_date", loc),
		UpdatesUntil: optDate(f, "updates_end_date", loc),
		ExpiresAt:    optDate(f, "expiry_date", loc),
		ExpiryDays:   optInt(f, "expiry_days"),
		Uses:         optInt(f, "license_uses"),
		ParallelUses: optInt(f, "license_parallel_uses"),
	}
	if code := in.LicenseCode; code.Set && code.Value != "" && !isLegacyCode(code.Value) {
		return in, true, pipeline.Error(c, fiber.StatusBadRequest, "Provided license code is invalid, please check.")
	}
	if e := in.Email; e.Set && e.Value != nil && !fields.IsEmail(*e.Value) {
		return in, true, legacyFail(c, msgLegacyBadEmail)
	}
	if err := f.Err(); err != nil {
		return in, true, legacyInvalid(c, err)
	}
	return in, false, nil
}

const msgLegacyBadEmail = "Provided client email is invalid, please check."

// legacyLicenseInvalid answers a license the licensing rules refused, in
// the legacy wording where LicenseBox had one.
func legacyLicenseInvalid(c fiber.Ctx, verr *fields.Error) error {
	m := verr.Map()
	switch {
	case m["license_code"] == fields.Taken("license_code"):
		return legacyFail(c, "Provided license code already exists, please recheck.")
	case m["email"] != "":
		return legacyFail(c, msgLegacyBadEmail)
	}
	return legacyFail(c, verr.First())
}
