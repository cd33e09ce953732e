package web

import (
	"bytes"
	"fmt"
	"maps"

	"github.com/gofiber/fiber/v3"
)

// View names what Render draws. Templates are named by their path under
// views/ without the extension ("admin/dashboard"); fragments are
// {{define}} blocks named by path too ("admin/login/form").
type View struct {
	Page     string    // the full page's template
	Layout   string    // the layout the page is embedded in ("layouts/admin")
	Fragment string    // drawn alone for htmx requests; "" means always the full page
	Data     fiber.Map // the page's own data
}

type viewDataKey struct{}

// SetViewData adds a value every template rendered for this request can
// read (for example the signed-in admin, set once by the auth middleware).
func SetViewData(c fiber.Ctx, key string, value any) {
	m, _ := c.Locals(viewDataKey{}).(fiber.Map)
	if m == nil {
		m = fiber.Map{}
		c.Locals(viewDataKey{}, m)
	}
	m[key] = value
}

// Render draws v with the given status: the whole page, or only
// v.Fragment when htmx asked for a fragment (see wantsFragment). Every
// template also gets CSRF (the token), Flashes (popped from the session, so
// shown once), Path and RequestID, plus what SetViewData added. A fragment
// response carries pending flash messages as an out-of-band swap of
// #flashes. Responses vary on HX-Request, so caches keep the two apart.
func Render(c fiber.Ctx, status int, v View) error {
	views := c.App().Config().Views
	if views == nil {
		return fmt.Errorf("render %s: no template engine configured", v.Page)
	}
	data := fiber.Map{}
	if extra, ok := c.Locals(viewDataKey{}).(fiber.Map); ok {
		maps.Copy(data, extra)
	}
	maps.Copy(data, v.Data)
	data["CSRF"] = CSRFToken(c)
	data["Path"] = c.Path()
	data["RequestID"] = RequestIDOf(c)
	flashes := popFlashes(c)
	data["Flashes"] = flashes

	c.Vary(HeaderHXRequest, HeaderHXBoosted)
	var buf bytes.Buffer
	if v.Fragment != "" && wantsFragment(c) {
		if err := views.Render(&buf, v.Fragment, data); err != nil {
			return fmt.Errorf("render %s: %w", v.Fragment, err)
		}
		if len(flashes) > 0 {
			data["FlashesOOB"] = true
			if err := views.Render(&buf, "partials/flashes", data); err != nil {
				return fmt.Errorf("render flashes: %w", err)
			}
		}
	} else if err := views.Render(&buf, v.Page, data, v.Layout); err != nil {
		return fmt.Errorf("render %s: %w", v.Page, err)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Status(status).Send(buf.Bytes())
}

// RenderDialog draws a dialog template alone (no layout), for htmx to put
// into #dialog-root, where static/js/app.js opens it. A request that is
// not htmx's (a link opened without JavaScript) gets 404: the dialog is
// no page.
func RenderDialog(c fiber.Ctx, template string, data fiber.Map) error {
	if !IsHTMX(c) {
		return fiber.ErrNotFound
	}
	views := c.App().Config().Views
	var buf bytes.Buffer
	if err := views.Render(&buf, template, data); err != nil {
		return fmt.Errorf("render %s: %w", template, err)
	}
	c.Vary(HeaderHXRequest)
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return c.Send(buf.Bytes())
}
