package admin

import (
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/catalog"
)

// productDefaults are a product's license defaults as the license form
// fills them in: the form's own field names and values.
type productDefaults struct {
	Type         string `json:"type"`
	Uses         string `json:"uses"`
	ParallelUses string `json:"parallel_uses"`
	ExpiryDays   string `json:"expiry_days"`
	// UpdatesUntil and SupportUntil are dates (YYYY-MM-DD) counted from
	// today, as a license created now would get them.
	UpdatesUntil string `json:"updates_until"`
	SupportUntil string `json:"support_until"`
	Comments     string `json:"comments"`
	ExpiryStart  string `json:"expiry_start"`
	// Floating is the floating select's value: "1" or "0".
	Floating string `json:"floating"`
}

// productDefaultsJSON answers /admin/products/:id/defaults with the
// product's license defaults.
func (h *handlers) productDefaultsJSON(c fiber.Ctx) error {
	p, err := h.productOf(c)
	if err != nil {
		return err
	}
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	return c.JSON(defaultsOf(p, h.now().In(set.Location())))
}

// defaultsOf are p's license defaults for a license created at now (in
// the settings' timezone).
func defaultsOf(p *catalog.Product, now time.Time) productDefaults {
	date := func(days *int) string {
		if days == nil {
			return ""
		}
		return now.AddDate(0, 0, *days).Format(time.DateOnly)
	}
	return productDefaults{
		Type: deref(p.DefaultLicenseType), Uses: intText(p.DefaultUses), ParallelUses: intText(p.DefaultParallelUses),
		ExpiryDays: intText(p.DefaultExpiryDays), UpdatesUntil: date(p.DefaultUpdatesUntilDays),
		SupportUntil: date(p.DefaultSupportUntilDays), Comments: deref(p.DefaultComments),
		ExpiryStart: p.DefaultExpiryStart, Floating: floatingOf(p.DefaultFloating),
	}
}
