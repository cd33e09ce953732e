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

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// msgInvalidCredentials is the one message for an unknown account and a
// wrong password (product.md §3), so the form does not reveal which
// accounts exist.
const msgInvalidCredentials = "These credentials do not match our records."

// msgUnconfirmed is shown only after the right password, so it reveals
// nothing to someone who does not know it.
const msgUnconfirmed = "Your email address is not confirmed yet. Open the link we emailed you, or ask for a new one."

// newDeviceWindow: a sign-in from a device and network not seen for this
// long sends the new-device alert (product.md §10).
const newDeviceWindow = 90 * 24 * time.Hour

// loginForm shows the sign-in form; a signed-in customer goes straight on.
func (h *handlers) loginForm(c fiber.Ctx) error {
	next := web.LocalPath(c.Query("next"), "")
	cu, err := h.signedIn(c)
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

// login checks an email or client ID and a password. Every attempt counts
// against the client IP and the account (or, for an unknown login, the
// login typed, so the lockout answers alike): over login_max_attempts in
// login_lockout_minutes the account is locked (429) until the window ends,
// on every node. Failures answer 422 with the form; success starts a new
// session ID and goes to the page first asked for.
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
	password := c.FormValue("password")
	attempt := customers.Login{Login: v.Login, IP: web.ClientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)}

	if msg, reason, err := h.checkCaptcha(c, set, captcha.FormLogin); err != nil {
		return err
	} else if msg != "" {
		// Refused before the password is looked at, so guesses without a
		// solved CAPTCHA cost the attacker and teach nothing.
		attempt.Reason = customers.ReasonCaptcha
		if cu, err := customers.ByLogin(ctx, h.db, v.Login); err == nil {
			attempt.CustomerID = &cu.ID
		}
		h.logger.InfoContext(ctx, "portal sign-in refused", "reason", reason)
		h.record(ctx, attempt)
		v.CaptchaError = msg
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, v)
	}

	var cu *customers.Customer
	if v.Login != "" {
		cu, err = customers.ByLogin(ctx, h.db, v.Login)
		if errors.Is(err, customers.ErrNotFound) {
			cu = nil
		} else if err != nil {
			return fmt.Errorf("portal sign-in: %w", err)
		}
	}
	if cu != nil {
		attempt.CustomerID = &cu.ID
	}

	wait, err := h.throttle(ctx, set, accountBucket(cu, v.Login), attempt.IP)
	if err != nil {
		return err
	}
	if wait > 0 {
		attempt.Reason = customers.ReasonLockedOut
		h.record(ctx, attempt)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		v.Error = tooManyAttempts(wait)
		return h.renderLogin(c, fiber.StatusTooManyRequests, v)
	}

	if !h.checkPassword(cu, password) {
		attempt.Reason = customers.ReasonInvalidCredentials
		h.record(ctx, attempt)
		v.Error = msgInvalidCredentials
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, v)
	}
	if !cu.Confirmed() {
		attempt.Reason = customers.ReasonUnconfirmed
		h.record(ctx, attempt)
		v.Error, v.Unconfirmed = msgUnconfirmed, true
		if !strings.Contains(v.Login, "@") {
			v.Login = cu.Email
		}
		return h.renderLogin(c, fiber.StatusForbidden, v)
	}

	if err := h.startSession(c, cu, v.Remember); err != nil {
		return err
	}
	if err := h.limiter.Reset(ctx, accountBucket(cu, v.Login)); err != nil {
		h.logger.WarnContext(ctx, "clear customer sign-in failures", "error", err)
	}
	h.alertNewDevice(ctx, set, cu, attempt)
	attempt.Success = true
	h.record(ctx, attempt)
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(v.Next, dashboardPath))
}

// checkPassword reports whether password is cu's. An unknown account or
// one without a password still pays for a hash, so timing does not tell
// which accounts exist.
func (h *handlers) checkPassword(cu *customers.Customer, password string) bool {
	hash := h.dummyHash()
	if cu != nil && cu.HasPassword() {
		hash = *cu.PasswordHash
	}
	ok, err := passwords.Verify(hash, password)
	return err == nil && ok && cu != nil && cu.HasPassword()
}

// alertNewDevice queues the new-device email when cu signed in before but
// not from this IP address and browser in the last 90 days. A failure is
// logged: it must not fail the sign-in.
func (h *handlers) alertNewDevice(ctx context.Context, set *settings.Values, cu *customers.Customer, l customers.Login) {
	if !set.NewDeviceAlerts || cu.LastLoginAt == nil {
		return
	}
	now := h.now()
	seen, err := customers.SeenDevice(ctx, h.db, cu.ID, l.IP, l.UserAgent, now.Add(-newDeviceWindow))
	if err == nil && !seen {
		if m := h.mailer(ctx); m != nil {
			err = m.NewDeviceSignIn(ctx, h.db, set, cu, l.IP, l.UserAgent, now)
		}
	}
	if err != nil {
		h.logger.ErrorContext(ctx, "new-device alert", "error", err)
	}
}

// startSession signs cu in on a new session ID (so an ID planted before
// sign-in is worthless), under the customer's current session epoch. A
// remembered session lasts customer_session_lifetime minutes after its last
// request.
func (h *handlers) startSession(c fiber.Ctx, cu *customers.Customer, remember bool) error {
	ctx := c.Context()
	epoch, err := customers.SessionEpoch(ctx, h.db, cu.ID)
	if err != nil {
		return err
	}
	sess := web.Session(c)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("portal sign-in: new session id: %w", err)
	}
	sess.Set(sessionCustomerID, cu.ID)
	sess.Set(sessionEpoch, epoch)
	if remember {
		set, err := h.settings.Get(ctx)
		if err != nil {
			return err
		}
		sess.Set(sessionRemember, true)
		sess.Session.SetIdleTimeout(time.Duration(set.CustomerSessionLifetime) * time.Minute)
	}
	return nil
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

// throttle counts the attempt against account and the client IP and
// returns how long to wait when either is over its limit (0 otherwise).
// Counting before checking the password means parallel guesses cannot slip
// past the limit. An IP address gets four times an account's attempts
// (at least 20), so one office behind NAT is not locked out by one user.
func (h *handlers) throttle(ctx context.Context, set *settings.Values, account, ip string) (time.Duration, error) {
	window := time.Duration(set.LoginLockoutMinutes) * time.Minute
	var wait time.Duration
	check := func(bucket string, limit int) error {
		r, err := h.limiter.Hit(ctx, bucket, limit, window)
		if err != nil {
			return fmt.Errorf("portal sign-in: %w", err)
		}
		if !r.Allowed {
			wait = max(wait, r.RetryAfter)
		}
		return nil
	}
	if err := check(account, set.LoginMaxAttempts); err != nil {
		return 0, err
	}
	if err := check("customer-login:ip:"+ip, max(20, 4*set.LoginMaxAttempts)); err != nil {
		return 0, err
	}
	return wait, nil
}

// accountBucket keys the per-account counter: the customer when the login
// matched one (so email and client ID share it), else the login typed.
func accountBucket(cu *customers.Customer, login string) string {
	if cu != nil {
		return "customer-login:account:" + strconv.FormatInt(cu.ID, 10)
	}
	if len(login) > 254 {
		login = login[:254]
	}
	return "customer-login:login:" + strings.ToLower(login)
}

// record writes the attempt to the sign-in history; a failure is logged
// only, so it cannot turn a sign-in into an error page.
func (h *handlers) record(ctx context.Context, l customers.Login) {
	if err := customers.RecordLogin(ctx, h.db, l); err != nil {
		h.logger.ErrorContext(ctx, "record customer sign-in", "error", err)
	}
}

func tooManyAttempts(wait time.Duration) string {
	minutes := max(1, int(math.Ceil(wait.Minutes())))
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	return fmt.Sprintf("Too many sign-in attempts. Please try again in %d %s.", minutes, unit)
}
