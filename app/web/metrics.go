package web

import (
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"

	"github.com/licensor/licensor/app/metrics"
)

// Metrics counts every request by its route's pattern, method and final
// status, with its duration (docs/deploy.md#metrics). Put it outside the
// request logger, which runs the error handler: the status is then final.
// A request no route matched counts under the prefix of the middleware
// that answered it ("/", "/admin"), so the labels stay a bounded set
// whatever paths clients ask for.
func Metrics(m *metrics.Metrics) fiber.Handler {
	return func(c fiber.Ctx) error {
		err := c.Next()
		method := c.Method()
		switch method {
		case fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodPut, fiber.MethodPatch,
			fiber.MethodDelete, fiber.MethodOptions:
		default:
			method = "OTHER"
		}
		m.Request(c.Route().Path, method, c.Response().StatusCode(), time.Since(RequestTime(c)))
		return err
	}
}

// MetricsEndpoint serves h (the Prometheus handler) to the addresses of
// allow (metrics.allow) and answers 404 to everyone else, as if there were
// no such page. The peer's address must be allowed, and so must every
// address a proxy forwarded (X-Forwarded-For, X-Real-IP, Forwarded): a
// reverse proxy on the same machine would otherwise lend its loopback
// address to the whole internet.
func MetricsEndpoint(allow []string, h http.Handler) (fiber.Handler, error) {
	prefixes := make([]netip.Prefix, 0, len(allow))
	for _, a := range allow {
		p, err := parsePrefix(a)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, p)
	}
	allowed := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	serve := adaptor.HTTPHandler(h)
	return func(c fiber.Ctx) error {
		ok := allowed(c.RequestCtx().RemoteIP().String()) && c.Get("Forwarded") == ""
		if xff := c.Get(fiber.HeaderXForwardedFor); ok && xff != "" {
			for _, s := range strings.Split(xff, ",") {
				ok = ok && allowed(s)
			}
		}
		if rip := c.Get("X-Real-Ip"); ok && rip != "" {
			ok = allowed(rip)
		}
		if !ok {
			return fiber.ErrNotFound
		}
		return serve(c)
	}, nil
}
