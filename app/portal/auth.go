package portal

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// Session keys: the signed-in customer and the id of their row in the
// sessions table (app/sessions), which is what keeps them signed in.
const (
	sessionCustomerID = "customer_id"
	sessionRowID      = "customer_session"
)

const (
	loginPath     = "/customer/login"
	dashboardPath = "/customer/dashboard"
)

// viewer is what templates see of the signed-in customer (never the model,
// which carries the password hash).
type viewer struct {
	ID       int64
	Name     string
	Email    string
	ClientID string
	// AvatarURL is the thumbnail's URL, "" when the customer has none
	// (the page shows initials).
	AvatarURL string
	// CreatedAt is when the account was made (the dashboard's "Joined on").
	CreatedAt time.Time
}

type customerKey struct{}

// portalNav says which optional pages the sidebar links to.
type portalNav struct{ Licenses, Activations bool }

// storedIdle is how long the session's stored data lives after a request.
func storedIdle(set *settings.Values, remember bool) time.Duration {
	lt := sessions.ForCustomers(set)
	if remember {
		return lt.RememberIdle
	}
	return lt.Idle
}

// requireCustomer lets signed-in customers through and sends everyone else
// to the sign-in page, remembering the page asked for (htmx requests get
// 401 with HX-Redirect).
func (h *handlers) requireCustomer(c fiber.Ctx) error {
	cu, row, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if cu != nil {
		c.Locals(sessionRowKey{}, row)
		set, err := h.settings.Get(c.Context())
		if err != nil {
			return err
		}
		web.SetViewData(c, "Nav", portalNav{Licenses: set.CustomerPageLicenses, Activations: set.CustomerPageActivations})
		web.SetViewData(c, "Customer", viewer{ID: cu.ID, Name: cu.Name, Email: cu.Email, ClientID: cu.ClientID, AvatarURL: avatarURL(cu), CreatedAt: cu.CreatedAt})
		c.Locals(customerKey{}, cu)
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

// current is the customer requireCustomer let through.
func current(c fiber.Ctx) *customers.Customer {
	cu, _ := c.Locals(customerKey{}).(*customers.Customer)
	return cu
}

type sessionRowKey struct{}

// currentSession is the id of the signed-in session's row (0 outside
// requireCustomer).
func currentSession(c fiber.Ctx) int64 {
	s, _ := c.Locals(sessionRowKey{}).(*sessions.Session)
	if s == nil {
		return 0
	}
	return s.ID
}

// sessionOf is the session row this browser holds for customer id, signed
// in or not (0 when it holds none of theirs): a password or email link
// opened in a signed-in browser keeps that session.
func sessionOf(c fiber.Ctx, id int64) int64 {
	sess := web.Session(c)
	if sess == nil {
		return 0
	}
	if cid, _ := sess.Get(sessionCustomerID).(int64); cid != id {
		return 0
	}
	row, _ := sess.Get(sessionRowID).(int64)
	return row
}

// signedIn returns the customer of the session and its row, or nil. A
// session whose row ended (signed out elsewhere, expired, password or
// email changed) or whose customer was deleted or is no longer confirmed
// is signed out.
func (h *handlers) signedIn(c fiber.Ctx) (*customers.Customer, *sessions.Session, error) {
	sess := web.Session(c)
	if sess == nil {
		return nil, nil, errors.New("portal: session middleware missing")
	}
	id, _ := sess.Get(sessionCustomerID).(int64)
	if id == 0 {
		return nil, nil, nil
	}
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return nil, nil, err
	}
	rowID, _ := sess.Get(sessionRowID).(int64)
	row, err := sessions.Touch(ctx, h.db, sessions.CustomerOwner(id), rowID, sessions.ForCustomers(set), web.ClientIP(c), c.Get(fiber.HeaderUserAgent))
	if errors.Is(err, sessions.ErrEnded) {
		return nil, nil, dropCustomer(sess)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("portal session: %w", err)
	}
	cu, err := customers.Get(ctx, h.db, id)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return nil, nil, fmt.Errorf("load signed-in customer: %w", err)
	}
	if cu == nil { // deleted while signed in
		return nil, nil, dropCustomer(sess)
	}
	if !cu.Confirmed() {
		if err := sessions.End(ctx, h.db, sessions.CustomerOwner(id), row.ID); err != nil && !errors.Is(err, sessions.ErrEnded) {
			return nil, nil, err
		}
		return nil, nil, dropCustomer(sess)
	}
	sess.Session.SetIdleTimeout(storedIdle(set, row.Remember))
	return cu, row, nil
}

// dropCustomer signs an ended session out in the middle of a request: the
// customer is removed and the ID changes, but the rest (the CSRF token the
// page being drawn carries) stays.
func dropCustomer(sess *session.Middleware) error {
	sess.Delete(sessionCustomerID)
	sess.Delete(sessionRowID)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("portal: end session: %w", err)
	}
	return nil
}

// signOut ends the session's row and data and gives the browser a new
// session ID.
func (h *handlers) signOut(c fiber.Ctx) error {
	if cu := current(c); cu != nil {
		if err := sessions.End(c.Context(), h.db, sessions.CustomerOwner(cu.ID), currentSession(c)); err != nil && !errors.Is(err, sessions.ErrEnded) {
			return fmt.Errorf("portal sign-out: %w", err)
		}
	}
	if err := web.Session(c).Reset(); err != nil {
		return fmt.Errorf("portal sign-out: %w", err)
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

// home sends /customer to the dashboard (which asks anonymous visitors to
// sign in).
func (h *handlers) home(c fiber.Ctx) error {
	return c.Redirect().Status(fiber.StatusFound).To(dashboardPath)
}
