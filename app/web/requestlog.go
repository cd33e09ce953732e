package web

import (
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v3"
)

// RequestLogger logs one line per request: method, path, status, duration,
// request ID and client IP. It runs the app's error handler itself, so the
// logged status is the one the client gets and the error is logged once,
// here, with the request ID. Quiet paths (health checks polled by load
// balancers) log at debug level.
func RequestLogger(logger *slog.Logger, quietPaths ...string) fiber.Handler {
	quiet := make(map[string]bool, len(quietPaths))
	for _, p := range quietPaths {
		quiet[p] = true
	}
	return func(c fiber.Ctx) error {
		start := time.Now()
		err := c.Next()
		if err != nil {
			if herr := c.App().ErrorHandler(c, err); herr != nil {
				// The error page itself failed; answer plainly.
				_ = c.Status(fiber.StatusInternalServerError).SendString("Internal Server Error")
				err = herr
			}
		}
		status := c.Response().StatusCode()
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case quiet[c.Path()]:
			level = slog.LevelDebug
		}
		if !logger.Enabled(c.Context(), level) {
			return nil
		}
		attrs := []slog.Attr{
			slog.String("method", c.Method()),
			slog.String("path", c.Path()),
			slog.Int("status", status),
			slog.Duration("duration", time.Since(start)),
			slog.String("request_id", RequestIDOf(c)),
			slog.String("ip", ClientIP(c)),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", err.Error()))
		}
		logger.LogAttrs(c.Context(), level, "http request", attrs...)
		return nil
	}
}
