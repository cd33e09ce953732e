package internalapi

import (
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/apirequest"
	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
)

// The legacy LicenseBox internal API (docs/api/legacy.md): every call is a POST to
// /api/<name> or /api_internal/<name>, with the same keys and scopes as
// the modern API, answering in LicenseBox's shapes. Business failures are
// HTTP 200 with status false; a missing required field is 400.

// Messages every legacy call shares.
const (
	msgLegacyMissing         = "Incorrect method or missing values, please check."
	msgLegacyProductNotFound = "Product ID specified is incorrect, please recheck."
	msgLegacyLicenseNotFound = "License code specified is incorrect, please recheck."
)

// legacyDateLayout is how the legacy API writes dates, in the configured
// time zone (docs/api/conventions.md#responses).
const legacyDateLayout = "2006-01-02 15:04:05"

// legacyOK is a legacy success without data: the shape of the modern
// action answers.
func legacyOK(c fiber.Ctx, message string) error { return respondAction(c, message) }

// legacyFail answers a business failure: HTTP 200, status false.
func legacyFail(c fiber.Ctx, message string) error {
	return pipeline.Error(c, fiber.StatusOK, message)
}

// legacyError answers a lookup's error the legacy way, once for every
// legacy handler: a product or license that does not exist is its fixed
// message (docs/api/legacy.md) with status — 200 for a business
// failure, 404 where the legacy call answers so; any other error stays an
// error.
func legacyError(c fiber.Ctx, status int, err error) error {
	switch {
	case errors.Is(err, catalog.ErrNotFound):
		return pipeline.Error(c, status, msgLegacyProductNotFound)
	case errors.Is(err, licensing.ErrNotFound):
		return pipeline.Error(c, status, msgLegacyLicenseNotFound)
	}
	return err
}

// legacyMissing answers a call without a required field.
func legacyMissing(c fiber.Ctx) error {
	return pipeline.Error(c, fiber.StatusBadRequest, msgLegacyMissing)
}

// legacyInvalid answers a field that failed a rule: LicenseBox answers
// those as business failures, with the first message.
func legacyInvalid(c fiber.Ctx, err error) error {
	if errs, ok := apirequest.FromError(err); ok {
		return legacyFail(c, errs.Message())
	}
	return err
}

// legacyDate writes t as the legacy API does, in loc; nil stays null.
func legacyDate(t *time.Time, loc *time.Location) *string {
	if t == nil {
		return nil
	}
	s := t.In(loc).Format(legacyDateLayout)
	return &s
}

// commaList writes a list as LicenseBox stored it, comma-separated; an
// empty list is null.
func commaList(items []string) *string {
	if len(items) == 0 {
		return nil
	}
	s := strings.Join(items, ",")
	return &s
}

// isAlnum reports whether s is letters and digits only (legacy product
// ids).
func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return s != ""
}

// isLegacyCode reports whether s matches [A-Za-z0-9_-]+, the legacy
// license code alphabet.
func isLegacyCode(s string) bool {
	return fields.IsIdentifier(s) && !strings.Contains(s, ".")
}

// checkConnection: POST /api/check_connection_int.
func (h *handlers) legacyCheckConnection(c fiber.Ctx, r *pipeline.Request) error {
	return legacyOK(c, "Connection successful.")
}
