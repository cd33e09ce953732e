package web

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"
)

// ReadYourWritesCookie marks a browser that changed something a moment
// ago (docs/deploy.md#read-replicas).
const ReadYourWritesCookie = "licensor_ryw"

type (
	recentWriteKey struct{}
	markWriteKey   struct{}
)

// ReadYourWrites sends a browser's reads to the primary for window after
// each change it makes: a request of the console or the portal but GET,
// HEAD and OPTIONS (and a GET handler that writes, MarkWrite) sets a
// cookie holding the end of the window, and a request carrying an
// unexpired one is marked (RecentWrite), so the page after a form's
// redirect shows the change even when replicas have not replayed it yet.
// The cookie is the client's, so every node honours it. window is at
// least database.replica_max_lag: a replica further behind is not read.
// The API has no session and sets no cookie: its replica reads (the
// update checks) tolerate the lag for every caller.
func ReadYourWrites(window time.Duration, secure bool) fiber.Handler {
	return func(c fiber.Ctx) error {
		now := time.Now()
		mark := func() {
			c.Locals(recentWriteKey{}, true)
			c.Cookie(&fiber.Cookie{
				Name: ReadYourWritesCookie, Value: strconv.FormatInt(now.Add(window).UnixMilli(), 10),
				Path: "/", Expires: now.Add(window), HTTPOnly: true, Secure: secure, SameSite: fiber.CookieSameSiteLaxMode,
			})
		}
		switch c.Method() {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
			if until, err := strconv.ParseInt(c.Cookies(ReadYourWritesCookie), 10, 64); err == nil && now.UnixMilli() < until {
				c.Locals(recentWriteKey{}, true)
			}
			c.Locals(markWriteKey{}, mark)
		default:
			mark()
		}
		return c.Next()
	}
}

// MarkWrite opens the read-your-writes window from a GET handler that
// changed something (an email confirmation link): the page it redirects
// to reads the primary. Without ReadYourWrites (no replicas) it does
// nothing.
func MarkWrite(c fiber.Ctx) {
	if mark, ok := c.Locals(markWriteKey{}).(func()); ok {
		mark()
	}
}

// RecentWrite reports whether the request's client changed something
// within the read-your-writes window: its reads go to the primary.
func RecentWrite(c fiber.Ctx) bool {
	b, _ := c.Locals(recentWriteKey{}).(bool)
	return b
}
