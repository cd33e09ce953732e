package web

import (
	"bytes"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gofiber/fiber/v3"
)

// concurrentViews is shaped like views/: a layout, a page with a fragment,
// and partials both include. None has been drawn before a test draws it,
// so the first draws escape the templates while others run.
var concurrentViews = fstest.MapFS{
	"layouts/main.html":    {Data: []byte(`<html><main>{{template "partials/note" .}}{{.Embed}}</main></html>`)},
	"partials/note.html":   {Data: []byte(`<p class="note">{{.Note}}</p>`)},
	"page.html":            {Data: []byte(`<h1>{{.Title}}</h1>{{template "page/list" .}}{{define "page/list"}}<ul>{{range .Items}}<li><a href="/x?q={{.}}">{{.}}</a></li>{{end}}</ul>{{end}}`)},
	"other.html":           {Data: []byte(`<h2 title="{{.Title}}">{{.Title}}</h2>{{template "partials/note" .}}`)},
	"dialogs/confirm.html": {Data: []byte(`<dialog><p>{{.Title}}</p><form action="/do/{{.Title}}"></form></dialog>`)},
}

// manyPages adds n pages like "page" (p0, p1, …) to files: the more
// templates first drawn at once, the likelier a draw meets another's first
// escape.
func manyPages(files fstest.MapFS, n int) fstest.MapFS {
	out := fstest.MapFS{}
	maps.Copy(out, files)
	for i := range n {
		out[fmt.Sprintf("p%d.html", i)] = &fstest.MapFile{Data: []byte(fmt.Sprintf(`<h1 id="p%d">{{.Title}}</h1>{{template "partials/note" .}}<a href="/x?q={{.Title}}">{{.Title}}</a>`, i))}
	}
	return out
}

// Pages in their layout, fragments and dialogs drawn at once from a set
// none of them was drawn from before each get their own content, whole:
// under the race detector (make test) this also shows the first escapes
// do not race with draws (gofiber/template's Engine.Render raced here).
func TestViewsDrawConcurrently(t *testing.T) {
	t.Parallel()
	const pages, workers = 60, 8
	v := parseViews(t, manyPages(concurrentViews, pages))
	var wg sync.WaitGroup
	errs := make(chan error, workers*(pages+4))
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			title := fmt.Sprintf("t%d<&>", w)
			items := []string{fmt.Sprintf("i%d", w), "two words"}
			draw := func(name string, layout ...string) string {
				var b bytes.Buffer
				if err := v.Render(&b, name, fiber.Map{"Title": title, "Items": items, "Note": "n" + title}, layout...); err != nil {
					errs <- fmt.Errorf("worker %d, %s: %w", w, name, err)
				}
				return b.String()
			}
			esc := fmt.Sprintf("t%d&lt;&amp;&gt;", w)
			q := fmt.Sprintf("t%d%%3c%%26%%3e", w)
			note := `<p class="note">n` + esc + `</p>`
			list := fmt.Sprintf(`<ul><li><a href="/x?q=i%d">i%d</a></li><li><a href="/x?q=two%%20words">two words</a></li></ul>`, w, w)
			type check struct{ got, want string }
			checks := []check{
				{draw("page", "layouts/main"), `<html><main>` + note + `<h1>` + esc + `</h1>` + list + `</main></html>`},
				{draw("page/list"), list},
				{draw("other", "layouts/main"), `<html><main>` + note + `<h2 title="` + esc + `">` + esc + `</h2>` + note + `</main></html>`},
				{draw("dialogs/confirm"), `<dialog><p>` + esc + `</p><form action="/do/` + fmt.Sprintf("t%d%%3c&amp;%%3e", w) + `"></form></dialog>`},
			}
			// Each worker starts at its own page, so first draws meet.
			for i := range pages {
				p := (i + w*pages/workers) % pages
				page := fmt.Sprintf(`<h1 id="p%d">`, p) + esc + `</h1>` + note + `<a href="/x?q=` + q + `">` + esc + `</a>`
				if p%2 == 0 {
					checks = append(checks, check{draw(fmt.Sprintf("p%d", p), "layouts/main"), `<html><main>` + note + page + `</main></html>`})
				} else {
					checks = append(checks, check{draw(fmt.Sprintf("p%d", p)), page})
				}
			}
			for _, c := range checks {
				if c.got != c.want {
					errs <- fmt.Errorf("worker %d drew\n%s\nwant\n%s", w, c.got, c.want)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A layout is drawn around its page only with data it can carry the page
// in, and a missing template or layout is an error naming it.
func TestViewsErrors(t *testing.T) {
	t.Parallel()
	v := parseViews(t, concurrentViews)
	var b bytes.Buffer
	for _, c := range []struct {
		name, want string
		data       any
		layout     []string
	}{
		{"missing", `no template "missing"`, fiber.Map{}, nil},
		{"page", `no layout "layouts/none"`, fiber.Map{}, []string{"layouts/none"}},
		{"page", "not a map", struct{}{}, []string{"layouts/main"}},
		{"page", "one layout", fiber.Map{}, []string{"layouts/main", "layouts/main"}},
	} {
		err := v.Render(&b, c.name, c.data, c.layout...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Render(%s, %v): %v, want an error with %q", c.name, c.layout, err, c.want)
		}
	}
	// A plain map carries the page as fiber.Map does.
	b.Reset()
	if err := v.Render(&b, "other", map[string]any{"Title": "x"}, "layouts/main"); err != nil || !strings.Contains(b.String(), `<h2 title="x">x</h2>`) {
		t.Errorf("map[string]any: %v %q", err, b.String())
	}
}
