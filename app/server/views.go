package server

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/template/html/v2"

	"github.com/licensor/licensor/views"
)

// requiredTemplates must exist for the app to work at all; checking them at
// start-up turns a missing file into an error instead of a broken page.
var requiredTemplates = []string{
	"layouts/admin", "layouts/auth", "partials/flashes",
	"errors/403", "errors/404", "errors/4xx", "errors/500",
	"admin/login", "admin/login/form", "admin/dashboard",
}

// newViews compiles the embedded templates once, at start-up.
func newViews() (*html.Engine, error) {
	assets, err := newAssetURLs()
	if err != nil {
		return nil, err
	}
	engine := html.NewFileSystem(http.FS(views.FS), ".html")
	engine.AddFunc("asset", assets.url)
	engine.AddFunc("initial", initial)
	if err := engine.Load(); err != nil {
		return nil, fmt.Errorf("server: load templates: %w", err)
	}
	for _, name := range requiredTemplates {
		if engine.Templates.Lookup(name) == nil {
			return nil, fmt.Errorf("server: template %q is missing", name)
		}
	}
	return engine, nil
}

// initial is the upper-cased first letter of a name, for avatars.
func initial(name string) string {
	r, _ := utf8.DecodeRuneInString(strings.TrimSpace(name))
	if r == utf8.RuneError {
		return "?"
	}
	return string(unicode.ToUpper(r))
}
