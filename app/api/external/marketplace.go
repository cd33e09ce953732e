package external

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
	"github.com/licensor/licensor/app/orders"
	"github.com/licensor/licensor/app/web"
)

// askMarketplace asks plugin about code for the license check
// (docs/api/external.md#license-check), within the marketplace's timeout;
// a failure is logged here.
func (h *handlers) askMarketplace(c fiber.Ctx, plugin string, product *catalog.Product, code, clientName string) (orders.Verdict, error) {
	v, err := h.Marketplace.Verify(c.Context(), h.DB, plugin, product, code, clientName)
	if err != nil {
		h.Logger.ErrorContext(c.Context(), "marketplace check", "plugin", plugin, "error", err, "request_id", web.RequestIDOf(c))
	}
	return v, err
}
