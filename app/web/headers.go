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

// apiContentSecurityPolicy is the JSON API's policy: its answers are data,
// never a document, so nothing may load from them and no page may frame
// them.
const apiContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'"

// SecurityHeaders sets the security headers of every response. hsts adds
// Strict-Transport-Security, which only makes sense when the site is served
// over HTTPS.
//
// Pages get the whole set. The API's paths (IsAPIPath: JSON answers and
// file downloads, never a page) get only the headers that mean something
// for a response that is not a document: nosniff, and framing refused by
// X-Frame-Options and a Content-Security-Policy that allows nothing.
// Referrer-Policy, Cross-Origin-Opener-Policy, Permissions-Policy and the
// pages' script and style sources govern what a document loads and does,
// and cost every verify about 300 bytes that the server writes and the
// client reads (docs/benchmarks.md, 2026-12-07 session 3); the API's
// reference names none of them (docs/api/conventions.md#responses).
func SecurityHeaders(hsts bool) fiber.Handler {
	// Names already in canonical form, as bytes made once: set on every
	// answer, verify's included, without normalising or converting them
	// each time.
	pages := [][2][]byte{
		{[]byte("X-Content-Type-Options"), []byte("nosniff")},
		{[]byte("X-Frame-Options"), []byte("DENY")},
		{[]byte("Referrer-Policy"), []byte("same-origin")},
		{[]byte("Content-Security-Policy"), []byte(contentSecurityPolicy)},
		{[]byte("Cross-Origin-Opener-Policy"), []byte("same-origin")},
		{[]byte("Permissions-Policy"), []byte("camera=(), microphone=(), geolocation=()")},
	}
	api := [][2][]byte{
		{[]byte("X-Content-Type-Options"), []byte("nosniff")},
		{[]byte("X-Frame-Options"), []byte("DENY")},
		{[]byte("Content-Security-Policy"), []byte(apiContentSecurityPolicy)},
	}
	if hsts {
		sts := [2][]byte{[]byte("Strict-Transport-Security"), []byte("max-age=31536000")}
		pages = append(pages, sts)
		api = append(api, sts)
	}
	return func(c fiber.Ctx) error {
		headers := pages
		if IsAPIPath(c.Path()) {
			headers = api
		}
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
