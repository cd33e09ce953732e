package portal

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/session"

	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/web"
)

// Session keys: the signed-in customer, the session epoch it signed in
// under, and whether it asked to be remembered.
const (
	sessionCustomerID = "customer_id"
	sessionEpoch      = "customer_epoch"
	sessionRemember   = "customer_remember"
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
}

type customerKey struct{}

// portalNav says which optional pages the sidebar links to.
type portalNav struct{ Licenses, Activations bool }

// sessionLifetime keeps a remembered session for customer_session_lifetime
// minutes after its last request; others end after the store's idle
// timeout (server.PortalSessionIdle). The timeout is per save, so it is set
// on every request.
func (h *handlers) sessionLifetime(c fiber.Ctx) error {
	sess := web.Session(c)
	if sess == nil {
		return errors.New("portal: session middleware missing")
	}
	if remember, _ := sess.Get(sessionRemember).(bool); remember {
		set, err := h.settings.Get(c.Context())
		if err != nil {
			return err
		}
		sess.Session.SetIdleTimeout(time.Duration(set.CustomerSessionLifetime) * time.Minute)
	}
	return c.Next()
}

// requireCustomer lets signed-in customers through and sends everyone else
// to the sign-in page, remembering the page asked for (htmx requests get
// 401 with HX-Redirect).
func (h *handlers) requireCustomer(c fiber.Ctx) error {
	cu, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if cu != nil {
		set, err := h.settings.Get(c.Context())
		if err != nil {
			return err
		}
		web.SetViewData(c, "Nav", portalNav{Licenses: set.CustomerPageLicenses, Activations: set.CustomerPageActivations})
		web.SetViewData(c, "Customer", viewer{ID: cu.ID, Name: cu.Name, Email: cu.Email, ClientID: cu.ClientID, AvatarURL: avatarURL(cu)})
		c.Locals(customerKey{}, cu)
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

// current is the customer requireCustomer let through.
func current(c fiber.Ctx) *customers.Customer {
	cu, _ := c.Locals(customerKey{}).(*customers.Customer)
	return cu
}

// signedIn returns the customer of the session, or nil. A session whose
// customer was deleted, is no longer confirmed, or whose epoch is past
// (password reset elsewhere) is signed out.
func (h *handlers) signedIn(c fiber.Ctx) (*customers.Customer, error) {
	sess := web.Session(c)
	if sess == nil {
		return nil, errors.New("portal: session middleware missing")
	}
	id, _ := sess.Get(sessionCustomerID).(int64)
	if id == 0 {
		return nil, nil
	}
	ctx := c.Context()
	cu, err := customers.Get(ctx, h.db, id)
	if errors.Is(err, customers.ErrNotFound) {
		return nil, dropCustomer(sess)
	}
	if err != nil {
		return nil, fmt.Errorf("load signed-in customer: %w", err)
	}
	epoch, err := customers.SessionEpoch(ctx, h.db, id)
	if err != nil {
		return nil, err
	}
	if have, _ := sess.Get(sessionEpoch).(int64); have != epoch || !cu.Confirmed() {
		return nil, dropCustomer(sess)
	}
	return cu, nil
}

// dropCustomer signs an ended session out in the middle of a request: the
// customer is removed and the ID changes, but the rest (the CSRF token the
// page being drawn carries) stays.
func dropCustomer(sess *session.Middleware) error {
	sess.Delete(sessionCustomerID)
	sess.Delete(sessionEpoch)
	sess.Delete(sessionRemember)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("portal: end session: %w", err)
	}
	return nil
}

// signOut ends the session's data and gives the browser a new session ID.
func (h *handlers) signOut(c fiber.Ctx) error {
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
