package portal

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/web"
)

// logout ends the session: its stored data is deleted and the browser gets
// a new, empty session that only carries the goodbye message.
func (h *handlers) logout(c fiber.Ctx) error {
	if err := h.signOut(c); err != nil {
		return err
	}
	web.AddFlash(c, web.FlashSuccess, "You have been signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}
