package web

import (
	"encoding/gob"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/extractors"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/licensor/licensor/app/kvstore"
)

// kvstore.Store is the storage behind sessions; it cannot assert this
// itself because domain packages do not import Fiber.
var _ fiber.Storage = (*kvstore.Store)(nil)

// SessionConfig describes one kind of session (admin console, customer
// portal): each has its own cookie and storage prefix.
type SessionConfig struct {
	Storage     fiber.Storage
	CookieName  string
	Secure      bool          // send the cookie over HTTPS only
	IdleTimeout time.Duration // the session ends after this long without a request
}

type sessionLiveKey struct{}

// Sessions returns the session middleware and its store. Session data is
// saved after every request that went through the middleware; cookies are
// HttpOnly and SameSite=Lax.
func Sessions(cfg SessionConfig) (fiber.Handler, *session.Store) {
	// Flash messages are stored in the session as []Flash, which gob must
	// know to decode. Registering the same type again is a no-op.
	gob.Register([]Flash(nil))
	handler, store := session.NewWithStore(session.Config{
		Storage:        cfg.Storage,
		Extractor:      extractors.FromCookie(cfg.CookieName),
		CookiePath:     "/",
		CookieHTTPOnly: true,
		CookieSameSite: fiber.CookieSameSiteLaxMode,
		CookieSecure:   cfg.Secure,
		IdleTimeout:    cfg.IdleTimeout,
	})
	// Fiber returns the session to a pool when its middleware returns, but
	// leaves it reachable from the context; the error handler runs after
	// that. The flag lets Session refuse a session that is no longer ours.
	return func(c fiber.Ctx) error {
		c.Locals(sessionLiveKey{}, true)
		defer c.Locals(sessionLiveKey{}, false)
		return handler(c)
	}, store
}

// Session returns the request's session, or nil outside the Sessions
// middleware (including in the error handler, which runs after it).
func Session(c fiber.Ctx) *session.Middleware {
	if live, _ := c.Locals(sessionLiveKey{}).(bool); !live {
		return nil
	}
	return session.FromContext(c)
}
