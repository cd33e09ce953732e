package api

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v3"
)

// healthTimeout bounds the database round trip (docs/api/external.md#health-check), so a load
// balancer gets an answer even while PostgreSQL hangs.
const healthTimeout = 2 * time.Second

type healthResponse struct {
	Status  string `json:"status"`
	Message string `json:"message"`
}

// healthCheck answers 200 when the database responds within 2 s, else 503.
func (h *handlers) healthCheck(c fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.Context(), healthTimeout)
	defer cancel()
	if err := h.deps.DB.Ping(ctx); err != nil {
		if h.deps.Logger != nil {
			h.deps.Logger.WarnContext(ctx, "health check: database unavailable", "error", err)
		}
		return c.Status(fiber.StatusServiceUnavailable).JSON(healthResponse{Status: "unavailable", Message: "Database unavailable."})
	}
	return c.JSON(healthResponse{Status: "ok", Message: "Platform up & running!"})
}
