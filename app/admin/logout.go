package admin

import (
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/web"
)

// logout ends the session: its row and its stored data are deleted and
// the browser gets a new, empty session that only carries the goodbye
// message.
func (h *handlers) logout(c fiber.Ctx) error {
	if a := currentAdmin(c); a != nil {
		err := sessions.End(c.Context(), h.db, sessions.AdminOwner(a.ID), currentSession(c))
		if err != nil && !errors.Is(err, sessions.ErrEnded) {
			return fmt.Errorf("admin sign-out: %w", err)
		}
	}
	if err := web.Session(c).Reset(); err != nil {
		return fmt.Errorf("admin sign-out: %w", err)
	}
	web.AddFlash(c, web.FlashSuccess, "You have been signed out.")
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}
