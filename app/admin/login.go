package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// msgInvalidCredentials is the one message for an unknown email and a wrong
// password (docs/features.md#admin-console), so the form does not reveal which accounts exist.
const msgInvalidCredentials = "These credentials do not match our records."

// msgDisabled is shown only after the right password.
const msgDisabled = "This account is disabled. Ask an owner of this console to enable it."

const dashboardPath = "/admin"

// loginForm shows the sign-in form; a signed-in admin goes straight on.
func (h *handlers) loginForm(c fiber.Ctx) error {
	next := web.LocalPath(c.Query("next"), "")
	a, _, err := h.signedIn(c)
	if err != nil {
		return err
	}
	if a != nil {
		return web.Redirect(c, fiber.StatusFound, web.LocalPath(next, dashboardPath))
	}
	return h.renderLogin(c, fiber.StatusOK, c.Query("email"), next, "")
}

// login checks the credentials. Failures answer 422 with the form and the
// typed email; too many attempts answer 429. Success starts a new session
// ID (so an ID planted before sign-in is worthless) and goes to the page
// first asked for.
func (h *handlers) login(c fiber.Ctx) error {
	ctx := c.Context()
	email := strings.TrimSpace(c.FormValue("email"))
	password := c.FormValue("password")
	next := web.LocalPath(c.FormValue("next"), "")
	attempt := admins.Login{Email: email, IP: web.ClientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)}

	if wait, err := h.throttle(ctx, email, attempt.IP); err != nil {
		return err
	} else if wait > 0 {
		attempt.Reason = admins.ReasonRateLimited
		h.record(ctx, attempt)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return h.renderLogin(c, fiber.StatusTooManyRequests, email, next, tooManyAttempts(wait))
	}

	a, err := admins.Authenticate(ctx, h.db, email, password)
	if errors.Is(err, admins.ErrInvalidCredentials) {
		attempt.Reason = admins.ReasonInvalidCredentials
		h.record(ctx, attempt)
		return h.renderLogin(c, fiber.StatusUnprocessableEntity, email, next, msgInvalidCredentials)
	}
	if errors.Is(err, admins.ErrDisabled) {
		attempt.Reason = admins.ReasonDisabled
		h.record(ctx, attempt)
		return h.renderLogin(c, fiber.StatusForbidden, email, next, msgDisabled)
	}
	if err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	on, err := h.twoFactor.Enabled(ctx, h.db, twofactor.AdminAccount(a.ID))
	if err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	if on {
		// The password was right: the code is asked next, on a session
		// that is not signed in yet.
		return h.askTwoFactor(c, a, next)
	}
	return h.finishSignIn(c, a, attempt, next)
}

// finishSignIn starts a's session after every factor was checked, clears
// the sign-in failures of the account, records the sign-in and goes on.
func (h *handlers) finishSignIn(c fiber.Ctx, a *admins.Admin, attempt admins.Login, next string) error {
	ctx := c.Context()
	if err := h.startSession(c, a); err != nil {
		return err
	}
	if err := h.limiter.Reset(ctx, emailBucket(a.Email)); err != nil {
		h.logger.WarnContext(ctx, "clear sign-in failures", "error", err)
	}
	if attempt.Email != "" && !strings.EqualFold(attempt.Email, a.Email) {
		if err := h.limiter.Reset(ctx, emailBucket(attempt.Email)); err != nil {
			h.logger.WarnContext(ctx, "clear sign-in failures", "error", err)
		}
	}
	attempt.AdminID, attempt.Success, attempt.Reason = &a.ID, true, ""
	h.record(ctx, attempt)
	return web.Redirect(c, fiber.StatusSeeOther, web.LocalPath(next, dashboardPath))
}

func (h *handlers) renderLogin(c fiber.Ctx, status int, email, next, errMsg string) error {
	return web.Render(c, status, web.View{
		Page:     "admin/login",
		Layout:   "layouts/auth",
		Fragment: "admin/login/form",
		Data:     fiber.Map{"Title": "Sign in", "Email": email, "Next": next, "Error": errMsg},
	})
}

// throttle counts the attempt against its email and its IP address and
// returns how long to wait when either is over its limit (0 otherwise).
// Counting before checking the password means parallel guesses cannot slip
// past the limit.
func (h *handlers) throttle(ctx context.Context, email, ip string) (time.Duration, error) {
	var wait time.Duration
	check := func(bucket string, limit int) error {
		r, err := h.limiter.Hit(ctx, bucket, limit, h.limits.Window)
		if err != nil {
			return fmt.Errorf("admin sign-in: %w", err)
		}
		if !r.Allowed {
			wait = max(wait, r.RetryAfter)
		}
		return nil
	}
	if email != "" {
		if err := check(emailBucket(email), h.limits.PerEmail); err != nil {
			return 0, err
		}
	}
	if err := check("admin-login:ip:"+ip, h.limits.PerIP); err != nil {
		return 0, err
	}
	return wait, nil
}

// emailBucket keys the per-email counter. No real address is longer than
// 254 bytes, so longer input is cut rather than stored whole.
func emailBucket(email string) string {
	if len(email) > 254 {
		email = email[:254]
	}
	return "admin-login:email:" + strings.ToLower(email)
}

// record writes the attempt to the sign-in history. A failure to write it
// must not turn a sign-in into an error page, so it is logged only.
func (h *handlers) record(ctx context.Context, l admins.Login) {
	if err := admins.RecordLogin(ctx, h.db, l); err != nil {
		h.logger.ErrorContext(ctx, "record admin sign-in", "error", err)
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
