package server_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/config"
	"github.com/licensor/licensor/app/server/servertest"
)

var securityHeaders = map[string]string{
	"X-Content-Type-Options": "nosniff",
	"X-Frame-Options":        "DENY",
	"Referrer-Policy":        "same-origin",
}

// apiSecurityHeaders are the API's (docs/api/conventions.md#responses):
// the headers that mean something for an answer that is not a page, and
// none of the pages' document policies, whose bytes every verify would pay.
var apiSecurityHeaders = map[string]string{
	"X-Content-Type-Options":     "nosniff",
	"X-Frame-Options":            "DENY",
	"Content-Security-Policy":    "default-src 'none'; frame-ancestors 'none'",
	"Referrer-Policy":            "",
	"Cross-Origin-Opener-Policy": "",
	"Permissions-Policy":         "",
}

func TestSecurityHeadersAndRequestIDOnEveryResponse(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	for _, path := range []string{"/admin/login", "/admin", "/nope", "/static/css/app.css", "/api-docs", "/apix"} {
		r := c.Get(path)
		for h, want := range securityHeaders {
			if got := r.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
		csp := r.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "style-src 'self'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		if r.Header.Get("Permissions-Policy") == "" || r.Header.Get("Cross-Origin-Opener-Policy") == "" {
			t.Errorf("GET %s: a page without Permissions-Policy or Cross-Origin-Opener-Policy", path)
		}
	}
	for _, path := range []string{"/api", "/api/health-check", "/api/nope", "/api/openapi.json", "/api_internal/nope", "/api/download/nope"} {
		r := c.Get(path)
		for h, want := range apiSecurityHeaders {
			if got := r.Header.Get(h); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, h, got, want)
			}
		}
	}
	for _, path := range []string{"/admin/login", "/nope", "/static/css/app.css", "/api/health-check", "/api/nope"} {
		r := c.Get(path)
		if r.Header.Get("X-Request-Id") == "" {
			t.Errorf("GET %s: no X-Request-Id", path)
		}
		if r.Header.Get("Strict-Transport-Security") != "" {
			t.Errorf("GET %s: HSTS on an http base URL", path)
		}
	}
	// A request ID from the proxy in front is kept; an absurd one is not.
	if r := c.Get("/api/health-check", "X-Request-Id", "lb-1234"); r.Header.Get("X-Request-Id") != "lb-1234" {
		t.Errorf("incoming request ID not kept: %q", r.Header.Get("X-Request-Id"))
	}
	long := strings.Repeat("x", 500)
	if r := c.Get("/api/health-check", "X-Request-Id", long); r.Header.Get("X-Request-Id") == long || r.Header.Get("X-Request-Id") == "" {
		t.Errorf("overlong request ID: %q", r.Header.Get("X-Request-Id"))
	}
}

func TestHSTSOnHTTPS(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, func(cfg *config.Config) { cfg.BaseURL = "https://licensor.example" })
	for _, path := range []string{"/api/health-check", "/admin/login"} {
		if r := e.Client(t).Get(path); r.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("GET %s: no Strict-Transport-Security with an https base URL", path)
		}
	}
}

func TestSecureCookiesOnHTTPS(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, func(cfg *config.Config) { cfg.BaseURL = "https://licensor.example" })
	r := e.Client(t).Get("/admin/login")
	for _, ck := range r.Header.Values("Set-Cookie") {
		if !strings.Contains(ck, "secure") && !strings.Contains(ck, "Secure") {
			t.Errorf("cookie without Secure on an https base URL: %s", ck)
		}
	}
}

func TestNotFoundPage(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)
	for _, path := range []string{"/nope", "/administrator", "/static/missing.css"} {
		r := c.Get(path)
		if r.StatusCode != 404 || !strings.Contains(r.Body, "Page not found") || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %q", path, r.StatusCode, r.Header.Get("Content-Type"))
		}
	}
	// htmx swaps the error page over the whole body, not into its target.
	r := c.Get("/nope", "HX-Request", "true")
	if r.Header.Get("HX-Retarget") != "body" {
		t.Errorf("htmx 404: HX-Retarget %q", r.Header.Get("HX-Retarget"))
	}
}

func TestRootLeadsToConsole(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	if r := e.Client(t).Get("/"); r.StatusCode != 302 || r.Header.Get("Location") != "/admin" {
		t.Errorf("GET /: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestPanicsBecomeErrorPages(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	e.App.Get("/boom", func(fiber.Ctx) error { panic("kaboom") })
	e.App.Get("/api/boom", func(fiber.Ctx) error { panic("kaboom") })
	e.App.Get("/fail", func(fiber.Ctx) error { return errors.New("secret detail") })
	c := e.Client(t)

	r := c.Get("/boom")
	if r.StatusCode != 500 || !strings.Contains(r.Body, "Something went wrong") || strings.Contains(r.Body, "kaboom") {
		t.Errorf("page panic: %d\n%s", r.StatusCode, r.Body)
	}
	if !strings.Contains(r.Body, r.Header.Get("X-Request-Id")) {
		t.Error("500 page does not show the request ID for support")
	}
	r = c.Get("/api/boom")
	if r.StatusCode != 500 || r.Body != `{"status":false,"is_active":false,"message":"Something went wrong. Please try again later."}` {
		t.Errorf("API panic: %d %s", r.StatusCode, r.Body)
	}
	if r := c.Get("/fail"); r.StatusCode != 500 || strings.Contains(r.Body, "secret detail") {
		t.Errorf("error leaked or wrong status: %d", r.StatusCode)
	}
	// The server still serves after a panic.
	if r := c.Get("/api/health-check"); r.StatusCode != 200 {
		t.Errorf("after panic: %d", r.StatusCode)
	}
}

func TestStaticFiles(t *testing.T) {
	t.Parallel()
	e := servertest.New(t)
	c := e.Client(t)

	r := c.Get("/static/css/app.css")
	if r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("app.css: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Errorf("unversioned asset Cache-Control %q", cc)
	}
	// Pages link assets with a content hash, which may be cached for good.
	page := c.Get("/admin/login").Body
	i := strings.Index(page, "/static/css/app.css?v=")
	if i < 0 {
		t.Fatalf("login page does not link a versioned app.css:\n%s", page)
	}
	href := page[i : i+strings.IndexByte(page[i:], '"')]
	if r := c.Get(href); r.StatusCode != 200 || r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("GET %s: %d Cache-Control %q", href, r.StatusCode, r.Header.Get("Cache-Control"))
	}
	if r := c.Get("/static/js/app.js"); r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), "javascript") {
		t.Errorf("app.js: %d %q", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := c.Get("/static/vendor/.gitkeep"); r.StatusCode == 200 && r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("vendor Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if r := c.Get("/static/../go.mod"); r.StatusCode != 404 {
		t.Errorf("path traversal: %d", r.StatusCode)
	}
}

// TestListenAndShutdown runs the app on a real socket the way main does:
// Listen, serve, then ShutdownWithTimeout while a keep-alive connection is
// open.
func TestListenAndShutdown(t *testing.T) {
	t.Parallel()
	e := servertest.New(t, func(cfg *config.Config) { cfg.HTTP.MaxBodyBytes = 4096 })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.App.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second}

	resp, err := client.Get(base + "/api/health-check")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health over TCP: %d %s", resp.StatusCode, body)
	}

	// Over the body limit: a JSON 413 under /api (docs/api/conventions.md#error-envelope).
	resp, err = client.Post(base+"/api/health-check", "application/json", strings.NewReader(strings.Repeat("x", 10000)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != 413 || string(body) != `{"status":false,"is_active":false,"message":"The request body is too large."}` {
		t.Errorf("oversized body: %d %s", resp.StatusCode, body)
	}

	start := time.Now()
	if err := e.App.ShutdownWithTimeout(10 * time.Second); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("listener returned %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	if _, err := client.Get(base + "/api/health-check"); err == nil {
		t.Error("still serving after shutdown")
	}
}
