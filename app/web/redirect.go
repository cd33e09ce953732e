package web

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v3"
)

// Redirect sends the client to location. A plain request gets status (use
// 303 after a POST, 302 otherwise); an htmx request gets 200 with
// HX-Redirect, so htmx does a full page load instead of letting the XHR
// follow the redirect and swap the next page into the current one.
func Redirect(c fiber.Ctx, status int, location string) error {
	if IsHTMX(c) {
		c.Set(HeaderHXRedirect, location)
		return c.SendStatus(fiber.StatusOK)
	}
	return c.Redirect().Status(status).To(location)
}

// LocalPath returns raw when it is a path on this site ("/admin/x?y=1"),
// else fallback. It refuses anything a browser could read as another
// origin: absolute URLs, scheme-relative "//host", "/\host" (browsers treat
// the backslash as a slash) and control characters.
func LocalPath(raw, fallback string) string {
	if raw == "" || raw[0] != '/' || len(raw) > 2048 {
		return fallback
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return fallback
	}
	if strings.ContainsAny(raw, "\\\r\n\t\x00") {
		return fallback
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return fallback
	}
	return raw
}

// CurrentPath is the path and query of the page an htmx request came from
// (HX-Current-URL), for returning there after an action; fallback when the
// header is missing or names another site.
func CurrentPath(c fiber.Ctx, fallback string) string {
	u, err := url.Parse(c.Get(HeaderHXCurrentURL))
	if err != nil || u.Host != string(c.Request().Host()) {
		return fallback
	}
	return LocalPath(u.RequestURI(), fallback)
}
