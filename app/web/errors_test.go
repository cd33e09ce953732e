package web

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
)

// A domain error reaching the error handler is answered by its kind, on
// pages and on the API alike; an error of no kind stays a 500.
func TestErrorHandlerMapsDomainKinds(t *testing.T) {
	t.Parallel()
	views := fstest.MapFS{
		"layouts/auth.html":   {Data: []byte(`{{.Embed}}`)},
		"layouts/portal.html": {Data: []byte(`{{.Embed}}`)},
		"errors/404.html":     {Data: []byte(`404 {{.Message}}`)},
		"errors/403.html":     {Data: []byte(`403 {{.Message}}`)},
		"errors/4xx.html":     {Data: []byte(`{{.Status}} {{.Message}}`)},
		"errors/500.html":     {Data: []byte(`500 {{.Message}}`)},
	}
	app := fiber.New(fiber.Config{Views: parseViews(t, views), ErrorHandler: ErrorHandler()})
	errs := map[string]error{
		"missing":   fmt.Errorf("load widget 7: %w", errkind.New(errkind.NotFound, "widget not found")),
		"forbidden": errkind.New(errkind.Forbidden, "not yours"),
		"conflict":  fmt.Errorf("rename: %w", errkind.New(errkind.Conflict, "name taken")),
		"invalid":   fields.New("name", "The name field is required."),
		"plain":     errors.New("disk on fire"),
	}
	for name, err := range errs {
		app.Get("/page/"+name, func(fiber.Ctx) error { return err })
		app.Get("/api/"+name, func(fiber.Ctx) error { return err })
	}
	for name, want := range map[string]int{"missing": 404, "forbidden": 403, "conflict": 409, "invalid": 422, "plain": 500} {
		resp, body := do(t, app, "/page/"+name, "")
		if resp.StatusCode != want || strings.Contains(body, "widget not found") || strings.Contains(body, "disk on fire") {
			t.Errorf("page %s: %d %q, want %d without the error's text", name, resp.StatusCode, body, want)
		}
		resp, body = do(t, app, "/api/"+name, "")
		if resp.StatusCode != want || !strings.HasPrefix(body, `{"status":false,"is_active":false,"message":`) {
			t.Errorf("api %s: %d %s, want %d and the envelope", name, resp.StatusCode, body, want)
		}
	}
}
