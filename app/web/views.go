package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"

	"github.com/gofiber/fiber/v3"
)

// EmbedKey is the data key under which a layout finds the page drawn
// inside it: layouts write {{.Embed}} where the page goes.
const EmbedKey = "Embed"

// Views draws the templates of one parsed set for Fiber (fiber.Config.Views),
// through html/template alone, which may execute a set from any number of
// goroutines at once.
//
// gofiber/template's own Engine.Render is not safe for that: it copies each
// template by value before html/template has escaped it, which races with
// the template's first escape in another request (the race detector saw it
// in the console's tests), and it gives a layout its page by swapping the
// set's one shared "embed" function on every draw, so a fragment drawn
// beside a page could take the page out of the layout. It also holds one
// lock over every page with a layout, drawing the console's pages one at
// a time. Here the page is drawn first and handed to its layout as data.
type Views struct{ set *template.Template }

// NewViews draws from set, parsed already (gofiber/template's Engine.Load
// parses views/ with the functions added to it).
func NewViews(set *template.Template) *Views { return &Views{set: set} }

// Load does nothing: the set is parsed before NewViews.
func (v *Views) Load() error { return nil }

// Render draws the template name with binding into out. With a layout,
// the page is drawn first and the layout gets it as .Embed (EmbedKey);
// binding must then be a map, as web.Render's is. Fiber's interface allows
// a chain of layouts; the console and the portal use one.
func (v *Views) Render(out io.Writer, name string, binding any, layout ...string) error {
	t := v.set.Lookup(name)
	if t == nil {
		return fmt.Errorf("render: no template %q", name)
	}
	if len(layout) == 0 || layout[0] == "" {
		return t.Execute(out, binding) // its errors name the template
	}
	if len(layout) > 1 {
		return fmt.Errorf("render %s: one layout, not %d", name, len(layout))
	}
	lay := v.set.Lookup(layout[0])
	if lay == nil {
		return fmt.Errorf("render %s: no layout %q", name, layout[0])
	}
	data, ok := binding.(fiber.Map)
	if !ok {
		m, isMap := binding.(map[string]any)
		if !isMap {
			return fmt.Errorf("render %s in %s: the data is a %T, not a map to carry the page", name, layout[0], binding)
		}
		data = m
	}
	var page bytes.Buffer
	if err := t.Execute(&page, data); err != nil {
		return err
	}
	// The page is the set's own output, escaped as it was drawn.
	data[EmbedKey] = template.HTML(page.String()) //nolint:gosec // drawn by html/template above
	if err := lay.Execute(out, data); err != nil {
		return fmt.Errorf("render %s in %s: %w", name, layout[0], err)
	}
	return nil
}
