package web

import (
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/requestid"
)

// HeaderRequestID carries the request ID on every response (and is taken
// from the request when a proxy in front already assigned one).
const HeaderRequestID = "X-Request-Id"

// maxIncomingRequestID bounds a request ID supplied by the client, which
// ends up in every log line of the request.
const maxIncomingRequestID = 128

// RequestID assigns each request an ID, echoed in X-Request-Id.
func RequestID() fiber.Handler {
	assign := requestid.New(requestid.Config{Header: HeaderRequestID})
	return func(c fiber.Ctx) error {
		if len(c.Get(HeaderRequestID)) > maxIncomingRequestID {
			c.Request().Header.Del(HeaderRequestID)
		}
		return assign(c)
	}
}

// RequestIDOf returns the request's ID ("" outside the RequestID middleware).
func RequestIDOf(c fiber.Ctx) string {
	return requestid.FromContext(c)
}
