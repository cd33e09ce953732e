package external

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/api/pipeline"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/web"
)

// defaultMarketplaceTimeout bounds a marketplace check (§4.3 step 4).
const defaultMarketplaceTimeout = 10 * time.Second

// fromMarketplace is §4.3 step 4: a code with no local license, sent with
// a verify_type an enabled order sync plugin serves, is checked with the
// marketplace; accepted, it becomes a local license and activation goes on
// at step 5. It returns the failure to answer with and its HTTP status, or
// nil to go on.
func (h *handlers) fromMarketplace(c fiber.Ctx, r *pipeline.Request, product *catalog.Product, code, clientName, verifyType string) (*licensing.Failure, int, error) {
	plugin, marketplace, ok := h.Marketplace.Serving(verifyType)
	if !ok {
		return nil, 0, nil
	}
	ctx := c.Context()
	if _, err := licensing.ByCode(ctx, h.DB, code); !errors.Is(err, licensing.ErrNotFound) {
		return nil, 0, err
	}
	v, err := h.askMarketplace(c, plugin, product, code, clientName)
	if f, status := marketplaceFailure(v, err, marketplace, licensing.FailActivateInvalid); f != nil {
		return f, status, nil
	}
	by := audit.Source{Actor: r.Caller.Key, IP: r.Caller.IP}
	err = h.Marketplace.Issue(ctx, h.DB, by, r.Settings, product, code, v.Sale)
	var verr *fields.Error
	if errors.As(err, &verr) {
		// The marketplace's code or sale cannot be a license here (a code
		// format Licensor does not store): as good as no license.
		h.Logger.WarnContext(ctx, "marketplace license not created", "plugin", plugin, "error", err, "request_id", web.RequestIDOf(c))
		f := licensing.FailActivateInvalid
		return &f, fiber.StatusBadRequest, nil
	}
	return nil, 0, err
}

// askMarketplace asks plugin about code within the marketplace timeout;
// a failure is logged here.
func (h *handlers) askMarketplace(c fiber.Ctx, plugin string, product *catalog.Product, code, clientName string) (orders.Verdict, error) {
	timeout := h.MarketplaceTimeout
	if timeout <= 0 {
		timeout = defaultMarketplaceTimeout
	}
	ctx, cancel := context.WithTimeout(c.Context(), timeout)
	defer cancel()
	v, err := h.Marketplace.Verify(ctx, h.DB, plugin, product, code, clientName)
	if err != nil {
		h.Logger.ErrorContext(c.Context(), "marketplace check", "plugin", plugin, "error", err, "request_id", web.RequestIDOf(c))
	}
	return v, err
}

// marketplaceFailure maps a marketplace check's outcome to the failure
// and HTTP status to answer with (nil when the code was accepted):
// unreachable 503, not mapped 400, refused 400 with refused.
func marketplaceFailure(v orders.Verdict, err error, marketplace string, refused licensing.Failure) (*licensing.Failure, int) {
	var f licensing.Failure
	status := fiber.StatusBadRequest
	switch {
	case err != nil:
		f, status = licensing.FailMarketplaceUnavailable, fiber.StatusServiceUnavailable
	case v.Outcome == orders.Accepted:
		return nil, 0
	case v.Outcome == orders.NotMapped:
		f = licensing.FailMarketplaceNotConfigured(marketplace)
	default:
		f = refused
	}
	return &f, status
}
