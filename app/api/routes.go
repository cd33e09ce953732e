package api

import "github.com/gofiber/fiber/v3"

// Register mounts every API route on router, which is the /api group.
func Register(router fiber.Router, deps Deps) {
	h := &handlers{deps: deps}

	router.Get("/health-check", h.healthCheck)
}
