package external

import "github.com/gofiber/fiber/v3"

// publicKeys is api.md §4.11: every server signing key that still
// verifies, the current key first. Public: no key, rate-limited per IP.
func (h *handlers) publicKeys(c fiber.Ctx) error {
	return c.JSON(h.Signing.PublicKeys())
}
