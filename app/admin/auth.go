package admin

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// Session keys: the signed-in admin's id and the id of their row in the
// sessions table (app/sessions), which is what keeps them signed in.
const (
	sessionAdminID = "admin_id"
	sessionRowID   = "admin_session"
)

const loginPath = "/admin/login"

// viewer is what templates see of the signed-in admin (never the model,
// which carries the password hash): who they are and what their role may
// do, so pages show only the links and buttons that will work.
type viewer struct {
	ID        int64
	Name      string
	Email     string
	Role      string
	AvatarURL string
	perms     map[admins.Permission]bool
}

// Can reports whether the admin may do p ("customers.delete"); templates
// call it as {{if .Admin.Can "customers.delete"}}.
func (v viewer) Can(p string) bool { return v.perms[admins.Permission(p)] }

func newViewer(a *admins.Admin) viewer {
	v := viewer{ID: a.ID, Name: a.Name, Email: a.Email, perms: map[admins.Permission]bool{}}
	if a.Role != nil {
		v.Role = a.Role.Name
		for _, p := range a.Role.Permissions() {
			v.perms[p] = true
		}
	}
	if a.HasAvatar() {
		v.AvatarURL = fmt.Sprintf("/admin/account/avatar?v=%d", a.UpdatedAt.Unix())
	}
	return v
}

// requireAdmin lets signed-in admins through and sends everyone else to the
// sign-in page, remembering the page asked for. htmx requests get 401 with
// HX-Redirect, since a redirect would be followed by the XHR and the login
// page swapped into the current one.
func (h *handlers) requireAdmin(c fiber.Ctx) error {
	a, row, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if a != nil {
		web.SetViewData(c, "Admin", newViewer(a))
		c.Locals(adminKey{}, a)
		c.Locals(sessionRowKey{}, row)
		if must, err := h.mustEnrol(c, a); err != nil {
			return err
		} else if must {
			return h.sendToEnrol(c)
		}
		return c.Next()
	}
	if web.BodyPending(c) {
		// An upload without a signed-in session: refused unread.
		return web.ErrSignInFirst
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

type (
	adminKey      struct{}
	sessionRowKey struct{}
)

// currentAdmin is the admin requireAdmin let through.
func currentAdmin(c fiber.Ctx) *admins.Admin {
	a, _ := c.Locals(adminKey{}).(*admins.Admin)
	return a
}

// currentSession is the id of the signed-in session's row (0 outside
// requireAdmin).
func currentSession(c fiber.Ctx) int64 {
	s, _ := c.Locals(sessionRowKey{}).(*sessions.Session)
	if s == nil {
		return 0
	}
	return s.ID
}

// source is who the activity log names for a console action: the
// signed-in admin (requireAdmin ran) and the client IP.
func source(c fiber.Ctx) audit.Source {
	src := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin}, IP: web.ClientIP(c)}
	if a := currentAdmin(c); a != nil {
		src.Actor.ID, src.Actor.Name = &a.ID, a.Name
	}
	return src
}

// signedIn returns the admin of the session and the session's row, or
// nil. A session whose row ended (signed out elsewhere, expired, password
// changed) or whose admin was deleted or disabled is signed out.
func (h *handlers) signedIn(c fiber.Ctx) (*admins.Admin, *sessions.Session, error) {
	sess := web.Session(c)
	if sess == nil {
		return nil, nil, errors.New("admin: session middleware missing")
	}
	id, _ := sess.Get(sessionAdminID).(int64)
	if id == 0 {
		return nil, nil, nil
	}
	ctx := c.Context()
	set, err := h.currentSettings(ctx)
	if err != nil {
		return nil, nil, err
	}
	rowID, _ := sess.Get(sessionRowID).(int64)
	owner := sessions.AdminOwner(id)
	row, err := sessions.Touch(ctx, h.db, owner, rowID, sessions.ForAdmins(set), web.ClientIP(c), c.Get(fiber.HeaderUserAgent))
	if errors.Is(err, sessions.ErrEnded) {
		return nil, nil, dropAdmin(sess)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("admin session: %w", err)
	}
	a, err := admins.Get(ctx, h.db, id)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return nil, nil, fmt.Errorf("load signed-in admin: %w", err)
	}
	if a == nil { // deleted while signed in
		return nil, nil, dropAdmin(sess)
	}
	if a.Status() != admins.StatusActive {
		if _, err := sessions.EndAll(ctx, h.db, owner, 0); err != nil {
			return nil, nil, err
		}
		return nil, nil, dropAdmin(sess)
	}
	// The stored session data lives as long as the idle lifetime, so
	// neither outlives the other.
	sess.Session.SetIdleTimeout(time.Duration(set.AdminSessionLifetime) * time.Minute)
	return a, row, nil
}

// startSession signs a in (StartSession).
func (h *handlers) startSession(c fiber.Ctx, a *admins.Admin) error {
	set, err := h.currentSettings(c.Context())
	if err != nil {
		return err
	}
	return StartSession(c, h.db, set, a.ID)
}

// StartSession signs admin id in on a new session ID (so an ID planted
// before sign-in is worthless) with a new sessions row. The sign-in form
// calls it once the password (and the second factor) checked out; the
// test harness calls it to sign in without the form (servertest.SignIn).
func StartSession(c fiber.Ctx, db bun.IDB, set *settings.Values, id int64) error {
	row, err := sessions.Start(c.Context(), db, sessions.AdminOwner(id), web.ClientIP(c), c.Get(fiber.HeaderUserAgent), false)
	if err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	sess := web.Session(c)
	if sess == nil {
		return errors.New("admin sign-in: no session middleware")
	}
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("admin sign-in: new session id: %w", err)
	}
	sess.Set(sessionAdminID, id)
	sess.Set(sessionRowID, row.ID)
	sess.Session.SetIdleTimeout(time.Duration(set.AdminSessionLifetime) * time.Minute)
	return nil
}

// dropAdmin signs an ended session out in the middle of a request: the
// admin is removed and the ID changes, but the rest (the CSRF token of the
// page being drawn) stays.
func dropAdmin(sess *session.Middleware) error {
	sess.Delete(sessionAdminID)
	sess.Delete(sessionRowID)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("admin: end session: %w", err)
	}
	return nil
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

// mustEnrol reports whether a must set up two-factor sign-in before
// anything else: the console requires it (require_admin_2fa) and a has
// none, and the page asked for is not part of setting it up.
func (h *handlers) mustEnrol(c fiber.Ctx, a *admins.Admin) (bool, error) {
	if enrolmentAllowed(c.Path()) {
		return false, nil
	}
	set, err := h.currentSettings(c.Context())
	if err != nil || !set.RequireAdmin2FA {
		return false, err
	}
	on, err := h.twoFactor.Enabled(c.Context(), h.db, twofactor.AdminAccount(a.ID))
	return !on, err
}

// sendToEnrol sends the admin to the two-factor set-up page.
func (h *handlers) sendToEnrol(c fiber.Ctx) error {
	if web.IsHTMX(c) {
		c.Set(web.HeaderHXRedirect, twoFactorPath)
		return c.SendStatus(fiber.StatusUnauthorized)
	}
	if c.Method() == fiber.MethodGet {
		web.AddFlash(c, web.FlashInfo, "This console requires two-factor sign-in. Set it up to continue.")
	}
	return c.Redirect().Status(fiber.StatusSeeOther).To(twoFactorPath)
}
