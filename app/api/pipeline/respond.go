package pipeline

import (
	"time"

	"github.com/gofiber/fiber/v3"
)

// envelope is the error body of api.md §1.4.
type envelope struct {
	Status   bool   `json:"status"`
	IsActive bool   `json:"is_active"`
	Message  string `json:"message"`
}

// Error answers status with the error envelope of §1.4.
func Error(c fiber.Ctx, status int, message string) error {
	return c.Status(status).JSON(envelope{Message: message})
}

// timestampLayout is the resource timestamp of api.md §1.3: RFC 3339 in UTC
// with microseconds, as Laravel serialises dates.
const timestampLayout = "2006-01-02T15:04:05.000000Z"

// Timestamp formats t as API resources show timestamps.
func Timestamp(t time.Time) string { return t.UTC().Format(timestampLayout) }

// TimestampOrNull is Timestamp for an optional time (nil stays null).
func TimestampOrNull(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := Timestamp(*t)
	return &s
}
