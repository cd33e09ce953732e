package admin

import "github.com/gofiber/fiber/v3"

// Register mounts the console on router, the /admin group, which must
// already run the admin session and CSRF middleware.
func Register(router fiber.Router, deps Deps) {
	h := newHandlers(deps)

	router.Get("/login", h.loginForm)
	router.Post("/login", h.login)

	// Everything below needs a signed-in admin.
	router.Use(h.requireAdmin)
	router.Post("/logout", h.logout)
	router.Get("/", h.dashboard)

	// Sections still being built: a page inside the console, so the
	// sidebar's links work.
	router.Get("/customers", h.section("customers", "Customers"))
	router.Get("/products", h.section("products", "Products"))
	router.Get("/licenses", h.section("licenses", "Licenses"))
	router.Get("/activations", h.section("activations", "Activations"))
	router.Get("/settings", h.section("settings", "Settings"))
	router.Get("/plugins", h.section("plugins", "Plugins"))
}
