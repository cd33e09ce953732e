package web

import (
	"strings"

	"github.com/gofiber/fiber/v3"
)

// contentSecurityPolicy allows scripts and styles from our own origin only,
// so templates carry no inline scripts, style attributes or event handlers.
// data: images are allowed for Pico's inline SVG icons.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// SecurityHeaders sets the security headers of every response. hsts adds
// Strict-Transport-Security, which only makes sense when the site is served
// over HTTPS.
func SecurityHeaders(hsts bool) fiber.Handler {
	// Names already in canonical form, as bytes made once: set on every
	// answer, verify's included, without normalising or converting them
	// each time.
	headers := [][2][]byte{
		{[]byte("X-Content-Type-Options"), []byte("nosniff")},
		{[]byte("X-Frame-Options"), []byte("DENY")},
		{[]byte("Referrer-Policy"), []byte("same-origin")},
		{[]byte("Content-Security-Policy"), []byte(contentSecurityPolicy)},
		{[]byte("Cross-Origin-Opener-Policy"), []byte("same-origin")},
		{[]byte("Permissions-Policy"), []byte("camera=(), microphone=(), geolocation=()")},
	}
	if hsts {
		headers = append(headers, [2][]byte{[]byte("Strict-Transport-Security"), []byte("max-age=31536000")})
	}
	return func(c fiber.Ctx) error {
		h := &c.Response().Header
		for _, kv := range headers {
			h.SetCanonical(kv[0], kv[1])
		}
		return c.Next()
	}
}

// AllowOrigins widens this response's Content-Security-Policy to load
// scripts, frames, images and connections from origins as well (a CAPTCHA
// plugin's widget). Origins are "scheme://host[:port]", checked by the
// plugin host; anything with a space or semicolon is dropped.
func AllowOrigins(c fiber.Ctx, origins []string) {
	var ok []string
	for _, o := range origins {
		if o != "" && !strings.ContainsAny(o, " ;,'\"\n\r\t") {
			ok = append(ok, o)
		}
	}
	if len(ok) == 0 {
		return
	}
	extra := " " + strings.Join(ok, " ")
	policy := strings.NewReplacer(
		"script-src 'self'", "script-src 'self'"+extra,
		"img-src 'self' data:", "img-src 'self' data:"+extra,
		"connect-src 'self'", "connect-src 'self'"+extra,
	).Replace(contentSecurityPolicy) + "; frame-src" + extra
	c.Set("Content-Security-Policy", policy)
}
