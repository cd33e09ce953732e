package portal

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// msgInvalidCredentials is the one message for an unknown account and a
// wrong password (docs/features.md#customer-portal), so the form does not reveal which
// accounts exist.
const msgInvalidCredentials = "These credentials do not match our records."

// msgUnconfirmed is shown only after the right password, so it reveals
// nothing to someone who does not know it.
const msgUnconfirmed = "Your email address is not confirmed yet. Open the link we emailed you, or ask for a new one."

// loginForm shows the sign-in form; a signed-in customer goes straight on.
func (h *handlers) loginForm(c fiber.Ctx) error {
	next := web.LocalPath(c.Query("next"), "")
	cu, _, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if cu != nil {
		return web.Redirect(c, fiber.StatusFound, web.LocalPath(next, dashboardPath))
	}
	return h.renderLogin(c, fiber.StatusOK, loginView{Next: next})
}

type loginView struct {
	Login, Next, Error string
	// CaptchaError is shown next to the CAPTCHA.
	CaptchaError string
	Remember     bool
	Unconfirmed  bool
}

// login signs a customer in (customers.Authenticate holds the rules: the
// lockout, the equal answers for unknown and wrong, the new-device alert).
// Failures answer 422 with the form, a lockout 429 with Retry-After, an
// unconfirmed account 403; success starts a new session ID and goes to the
// page first asked for.
func (h *handlers) login(c fiber.Ctx) error {
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	v := loginView{
		Login:    strings.TrimSpace(c.FormValue("email")),
		Next:     web.LocalPath(c.FormValue("next"), ""),
		Remember: c.FormValue("remember") != "",
	}
	in := h.signIn(c, v.Login, c.FormValue("password"))

	if msg, reason, err := h.checkCaptcha(c, set, captcha.FormLogin); err != nil {
		return err
	} else if msg != "" {
		// Refused before the password is looked at, so guesses without a
		// solved CAPTCHA cost the attacker and teach nothing.
		h.logger.InfoContext(ctx, "portal sign-in refused", "reason", reason)
		h.customers.RefuseSignIn(ctx, h.db, in, customers.ReasonCaptcha)
		v.CaptchaError = msg
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, v)
	}

	cu, err := h.customers.Authenticate(ctx, h.db, set, in)
	var locked *customers.LockedOutError
	switch {
	case errors.As(err, &locked):
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(locked.Wait.Seconds()))))
		v.Error = tooManyAttempts(locked.Wait)
		return h.renderLogin(c, fiber.StatusTooManyRequests, v)
	case errors.Is(err, customers.ErrInvalidCredentials):
		v.Error = msgInvalidCredentials
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, v)
	case errors.Is(err, customers.ErrUnconfirmed):
		v.Error, v.Unconfirmed = msgUnconfirmed, true
		if !strings.Contains(v.Login, "@") {
			v.Login = cu.Email
		}
		return h.renderLogin(c, fiber.StatusForbidden, v)
	case errors.Is(err, customers.ErrSecondFactor):
		// The password was right: the code is asked next, on a session
		// that is not signed in yet.
		return h.askTwoFactor(c, cu, v.Next, v.Remember)
	case err != nil:
		return err
	}
	if err := h.startSession(c, cu, v.Remember); err != nil {
		return err
	}
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(v.Next, dashboardPath))
}

// signIn is the sign-in attempt of this request; a customer with
// two-factor sign-in on is asked for a code after the password.
func (h *handlers) signIn(c fiber.Ctx, login, password string) customers.SignIn {
	return customers.SignIn{Login: login, Password: password, IP: web.ClientIP(c),
		UserAgent: c.Get(fiber.HeaderUserAgent), Limiter: h.limiter, Logger: h.logger,
		SecondFactor: func(ctx context.Context, idb bun.IDB, cu *customers.Customer) (bool, error) {
			return h.twoFactor.Enabled(ctx, idb, twofactor.CustomerAccount(cu.ID))
		}}
}

// startSession signs cu in (StartSession).
func (h *handlers) startSession(c fiber.Ctx, cu *customers.Customer, remember bool) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	return StartSession(c, h.db, set, cu.ID, remember)
}

func (h *handlers) renderLogin(c fiber.Ctx, status int, v loginView) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	widget, err := h.captchaWidget(c, captcha.FormLogin)
	if err != nil {
		return err
	}
	return web.Render(c, status, web.View{
		Page:     "portal/login",
		Layout:   "layouts/portal",
		Fragment: "portal/login/form",
		Data: fiber.Map{"Title": "Sign in", "Form": v, "Registration": set.RegistrationEnabled,
			"Captcha": widget, "CaptchaError": v.CaptchaError, "CaptchaForm": captcha.FormLogin},
	})
}

func tooManyAttempts(wait time.Duration) string {
	minutes := max(1, int(math.Ceil(wait.Minutes())))
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many sign-in attempts. Please try again in %d %s.", minutes, unit)
}

// StartSession signs customer id in on a new session ID (so an ID planted
// before sign-in is worthless) with a new sessions row. A remembered
// session lasts customer_session_lifetime minutes after its last request,
// one not remembered at most 120. The sign-in form calls it once the
// password checked out; the test harness calls it to sign in without the
// form (servertest.SignInCustomer).
func StartSession(c fiber.Ctx, db bun.IDB, set *settings.Values, id int64, remember bool) error {
	row, err := sessions.Start(c.Context(), db, sessions.CustomerOwner(id), web.ClientIP(c), c.Get(fiber.HeaderUserAgent), remember)
	if err != nil {
		return fmt.Errorf("portal sign-in: %w", err)
	}
	sess := web.Session(c)
	if sess == nil {
		return errors.New("portal sign-in: no session middleware")
	}
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("portal sign-in: new session id: %w", err)
	}
	sess.Set(sessionCustomerID, id)
	sess.Set(sessionRowID, row.ID)
	sess.Session.SetIdleTimeout(storedIdle(set, remember))
	return nil
}
