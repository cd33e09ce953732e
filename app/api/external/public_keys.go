package external

import "github.com/gofiber/fiber/v3"

// publicKeys is docs/api/external.md#public-keys: every server signing key that still
// verifies, the current key first. Public: no key, rate-limited per IP.
func (h *handlers) publicKeys(c fiber.Ctx) error {
	return c.JSON(h.Signing.PublicKeys())
}
