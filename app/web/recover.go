package web

import (
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/recover"
)

// Recover turns a panic in a handler into an error (so the error handler
// renders the 500 page) and logs the stack with the request ID.
func Recover(logger *slog.Logger) fiber.Handler {
	return recover.New(recover.Config{
		EnableStackTrace: true,
		StackTraceHandler: func(c fiber.Ctx, e any) {
			logger.ErrorContext(c.Context(), "panic in handler",
				"panic", fmt.Sprint(e),
				"request_id", RequestIDOf(c),
				"path", LogPath(c),
				"stack", string(debug.Stack()))
		},
	})
}
