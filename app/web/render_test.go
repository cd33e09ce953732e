package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/template/html/v2"
)

// testViews is a tiny template set shaped like views/.
var testViews = fstest.MapFS{
	"layouts/main.html":     {Data: []byte(`<html><body>{{template "partials/flashes" .}}{{.Embed}}</body></html>`)},
	"partials/flashes.html": {Data: []byte(`<div id="flashes"{{if .FlashesOOB}} hx-swap-oob="true"{{end}}>{{range .Flashes}}<p>{{.Message}}</p>{{end}}</div>`)},
	"page.html":             {Data: []byte(`<h1>{{.Title}}</h1>{{template "page/list" .}}{{define "page/list"}}<ul id="list" data-csrf="{{.CSRF}}">{{.Who}}</ul>{{end}}`)},
}

func newRenderApp(t *testing.T) *fiber.App {
	t.Helper()
	app := fiber.New(fiber.Config{Views: parseViews(t, testViews)})
	sessions, _ := Sessions(SessionConfig{CookieName: "s", IdleTimeout: time.Minute})
	app.Use(sessions)
	app.Get("/flash", func(c fiber.Ctx) error {
		AddFlash(c, FlashSuccess, "Saved.")
		return c.SendStatus(204)
	})
	app.Get("/", func(c fiber.Ctx) error {
		SetViewData(c, "Who", "ann")
		return Render(c, 200, View{Page: "page", Layout: "layouts/main", Fragment: "page/list", Data: fiber.Map{"Title": "T"}})
	})
	app.Get("/go", func(c fiber.Ctx) error { return Redirect(c, 303, "/there") })
	return app
}

// parseViews parses files as the server parses views/ and draws them
// with Views.
func parseViews(t testing.TB, files fstest.MapFS) *Views {
	t.Helper()
	engine := html.NewFileSystem(http.FS(files), ".html")
	if err := engine.Load(); err != nil {
		t.Fatal(err)
	}
	return NewViews(engine.Templates)
}

func do(t *testing.T, app *fiber.App, path, cookie string, headers ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp.Body)
}

func TestRenderFullOrFragment(t *testing.T) {
	app := newRenderApp(t)
	tests := []struct {
		name     string
		headers  []string
		fragment bool
	}{
		{"plain request", nil, false},
		{"htmx request", []string{"HX-Request", "true"}, true},
		{"boosted navigation", []string{"HX-Request", "true", "HX-Boosted", "true"}, false},
		{"history restore", []string{"HX-Request", "true", "HX-History-Restore-Request", "true"}, false},
	}
	for _, tt := range tests {
		resp, body := do(t, app, "/", "", tt.headers...)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", tt.name, resp.StatusCode, body)
		}
		isFragment := !strings.Contains(body, "<html>")
		if isFragment != tt.fragment {
			t.Errorf("%s: fragment=%v, want %v: %s", tt.name, isFragment, tt.fragment, body)
		}
		if !strings.Contains(body, `<ul id="list" data-csrf="">ann</ul>`) {
			t.Errorf("%s: view data missing: %s", tt.name, body)
		}
		if !strings.Contains(resp.Header.Get("Vary"), "HX-Request") {
			t.Errorf("%s: Vary %q", tt.name, resp.Header.Get("Vary"))
		}
		if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", tt.name, resp.Header.Get("Content-Type"))
		}
	}
}

func TestFlashShownOnceAndOutOfBandInFragments(t *testing.T) {
	app := newRenderApp(t)
	resp, _ := do(t, app, "/flash", "")
	cookie := strings.Split(resp.Header.Get("Set-Cookie"), ";")[0]

	_, body := do(t, app, "/", cookie, "HX-Request", "true")
	if !strings.Contains(body, `<div id="flashes" hx-swap-oob="true"><p>Saved.</p></div>`) {
		t.Errorf("fragment without out-of-band flash: %s", body)
	}
	_, body = do(t, app, "/", cookie)
	if strings.Contains(body, "Saved.") {
		t.Errorf("flash shown twice: %s", body)
	}
}

func TestRedirect(t *testing.T) {
	app := newRenderApp(t)
	resp, _ := do(t, app, "/go", "")
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/there" {
		t.Errorf("plain: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, _ = do(t, app, "/go", "", "HX-Request", "true")
	if resp.StatusCode != 200 || resp.Header.Get("HX-Redirect") != "/there" || resp.Header.Get("Location") != "" {
		t.Errorf("htmx: %d HX-Redirect %q Location %q", resp.StatusCode, resp.Header.Get("HX-Redirect"), resp.Header.Get("Location"))
	}
}

func readBody(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
