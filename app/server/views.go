package server

import (
	"fmt"
	"html/template"
	"io"
	"net/http"
	"sync"

	"github.com/gofiber/template/html/v2"

	"github.com/licensor/licensor/app/web"
	"github.com/licensor/licensor/views"
)

// requiredTemplates must exist for the app to work at all; checking them at
// start-up turns a missing file into an error instead of a broken page.
var requiredTemplates = []string{
	"layouts/admin", "layouts/auth", "partials/flashes",
	"errors/403", "errors/404", "errors/4xx", "errors/500",
	"admin/login", "admin/login/form", "admin/dashboard",
}

// loadViews parses the templates once per process: the nodes of a process
// (the test harness builds many) share them.
var loadViews = sync.OnceValues(newViews)

// ParseViews parses the templates (once per process) and returns their
// error. `serve` calls it once it listens, beside the API's first answers:
// the parse is a good share of a start's CPU and memory, and only a page
// needs it, so the first page drawn waits for it instead of the start-up.
// A broken set still stops the server, a moment after it began listening.
func ParseViews() error {
	_, err := loadViews()
	return err
}

// parsedViews is the app's fiber.Views: it draws with the set once parsed,
// parsing it at the first draw when ParseViews has not run yet.
type parsedViews struct{}

// Load does nothing: the set is parsed by ParseViews or the first Render.
func (parsedViews) Load() error { return nil }

func (parsedViews) Render(out io.Writer, name string, binding any, layout ...string) error {
	v, err := loadViews()
	if err != nil {
		return err
	}
	return v.Render(out, name, binding, layout...)
}

// newViews parses the embedded templates with gofiber/template's engine and
// draws them with web.Views, which is safe for concurrent use where the
// engine's own Render is not (see web.Views).
func newViews() (*web.Views, error) {
	assets, err := newAssetURLs()
	if err != nil {
		return nil, err
	}
	engine := html.NewFileSystem(http.FS(views.FS), ".html")
	engine.AddFunc("asset", assets.url)
	for name, fn := range web.ViewFuncs() {
		engine.AddFunc(name, fn)
	}
	// The set exists once loaded; include runs only while drawing.
	engine.AddFunc("include", func(name string, data any) (template.HTML, error) {
		return web.Include(engine.Templates, name, data)
	})
	if err := engine.Load(); err != nil {
		return nil, fmt.Errorf("server: load templates: %w", err)
	}
	for _, name := range requiredTemplates {
		if engine.Templates.Lookup(name) == nil {
			return nil, fmt.Errorf("server: template %q is missing", name)
		}
	}
	return web.NewViews(engine.Templates), nil
}
