package server

import (
	"fmt"
	"html/template"
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
// (the test harness builds many) share them, and PreloadViews starts the
// parse before the node needs it.
var loadViews = sync.OnceValues(newViews)

// PreloadViews parses the templates in the background, so `serve` does it
// on the other core while it opens and checks the database instead of
// after: New then takes the parsed templates (or their error).
func PreloadViews() { go func() { _, _ = loadViews() }() }

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
