package web

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"
)

// A served request's time is the one reading fasthttp's server took
// before calling the app, the same for every middleware that asks; a
// handler called without the server reads the clock.
func TestRequestTime(t *testing.T) {
	t.Parallel()
	app := fiber.New()
	var first, second, served time.Time
	app.Use(func(c fiber.Ctx) error {
		first = RequestTime(c)
		return c.Next()
	})
	app.Get("/", func(c fiber.Ctx) error {
		second, served = RequestTime(c), c.RequestCtx().Time()
		return c.SendStatus(fiber.StatusNoContent)
	})
	resp, err := app.Test(httptest.NewRequest("GET", "/", nil))
	if err != nil || resp.StatusCode != fiber.StatusNoContent {
		t.Fatalf("%v %v", resp, err)
	}
	if served.IsZero() || !first.Equal(served) || !second.Equal(served) {
		t.Fatalf("request times %v, %v; the server's %v", first, second, served)
	}

	before := time.Now()
	var ctx fasthttp.RequestCtx
	app.Handler()(&ctx)
	if got := second; got.Before(before) {
		t.Fatalf("a request without the server's time got %v, before %v", got, before)
	}
}
