package pipeline

import (
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/resources"
)

// envelope is the error body of docs/api/conventions.md#error-envelope.
type envelope struct {
	Status   bool   `json:"status"`
	IsActive bool   `json:"is_active"`
	Message  string `json:"message"`
}

// Error answers status with the error envelope of docs/api/conventions.md#error-envelope.
func Error(c fiber.Ctx, status int, message string) error {
	return c.Status(status).JSON(envelope{Message: message})
}

// Timestamp formats a resource time as docs/api/conventions.md#responses says (see app/resources).
func Timestamp(t time.Time) string { return resources.Timestamp(t) }

// TimestampOrNull is Timestamp, or JSON null for no time.
func TimestampOrNull(t *time.Time) *string { return resources.TimestampOrNull(t) }
