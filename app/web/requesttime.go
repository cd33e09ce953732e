package web

import (
	"time"

	"github.com/gofiber/fiber/v3"
)

// RequestTime is when the request was received: the time fasthttp's
// server takes before it hands each request to the app
// (fasthttp.RequestCtx.Time), so the middleware and handlers of a request
// that need "now" (its duration, the API key's expiry, the signed answer's
// date) share one reading of the clock instead of taking one each. A
// request not served by fasthttp's server (a handler called directly) has
// no such time and reads the clock. Code whose tests set the time takes a
// clock of its own, as before.
func RequestTime(c fiber.Ctx) time.Time {
	if t := c.RequestCtx().Time(); !t.IsZero() {
		return t
	}
	return time.Now()
}
