package admin

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/web"
)

// sessionAdminID is the session key holding the signed-in admin's id.
const sessionAdminID = "admin_id"

const loginPath = "/admin/login"

// viewer is what templates see of the signed-in admin (never the model,
// which carries the password hash).
type viewer struct {
	ID    int64
	Name  string
	Email string
}

// requireAdmin lets signed-in admins through and sends everyone else to the
// sign-in page, remembering the page asked for. htmx requests get 401 with
// HX-Redirect, since a redirect would be followed by the XHR and the login
// page swapped into the current one.
func (h *handlers) requireAdmin(c fiber.Ctx) error {
	a, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if a != nil {
		web.SetViewData(c, "Admin", viewer{ID: a.ID, Name: a.Name, Email: a.Email})
		c.Locals(adminKey{}, a)
		return c.Next()
	}
	if web.IsHTMX(c) {
		c.Set(web.HeaderHXRedirect, loginURL(htmxNext(c)))
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	next := ""
	if c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead {
		next = c.OriginalURL()
	}
	return c.Redirect().Status(fiber.StatusFound).To(loginURL(next))
}

type adminKey struct{}

// source is who the activity log names for a console action: the
// signed-in admin (requireAdmin ran) and the client IP.
func source(c fiber.Ctx) audit.Source {
	src := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin}, IP: web.ClientIP(c)}
	if a, ok := c.Locals(adminKey{}).(*admins.Admin); ok {
		src.Actor.ID, src.Actor.Name = &a.ID, a.Name
	}
	return src
}

// signedIn returns the admin of the session, or nil. A session whose admin
// was deleted is signed out.
func (h *handlers) signedIn(c fiber.Ctx) (*admins.Admin, error) {
	sess := web.Session(c)
	if sess == nil {
		return nil, errors.New("admin: session middleware missing")
	}
	id, _ := sess.Get(sessionAdminID).(int64)
	if id == 0 {
		return nil, nil
	}
	a, err := admins.Get(c.Context(), h.db, id)
	if errors.Is(err, admins.ErrNotFound) {
		sess.Delete(sessionAdminID)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load signed-in admin: %w", err)
	}
	return a, nil
}

func loginURL(next string) string {
	next = web.LocalPath(next, "")
	if next == "" {
		return loginPath
	}
	return loginPath + "?next=" + url.QueryEscape(next)
}

// htmxNext is the page the browser shows (HX-Current-URL), as a local path.
func htmxNext(c fiber.Ctx) string {
	u, err := url.Parse(c.Get(web.HeaderHXCurrentURL))
	if err != nil || u.Path == "" {
		return ""
	}
	return u.RequestURI()
}
