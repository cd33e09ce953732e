package admin

import (
	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/web"
)

// section renders the placeholder of a console section not built yet.
func (h *handlers) section(key, title string) fiber.Handler {
	return func(c fiber.Ctx) error {
		return web.Render(c, fiber.StatusOK, web.View{
			Page:   "admin/section",
			Layout: "layouts/admin",
			Data:   fiber.Map{"Title": title, "Section": key},
		})
	}
}
