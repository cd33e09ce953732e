package admin

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/twofactor"
	"github.com/licensor/licensor/app/web"
)

// Session keys of a sign-in waiting for its second factor: the admin whose
// password was right, when, and the page to go on to.
const (
	sessionPendingAdmin = "admin_2fa_pending"
	sessionPendingAt    = "admin_2fa_at"
	sessionPendingNext  = "admin_2fa_next"
)

// pendingTTL is how long the code may follow the password.
const pendingTTL = 5 * time.Minute

const twoFactorLoginPath = "/admin/login/two-factor"

const msgWrongCode = "This code is not valid. Enter the current code from your authenticator app, or an unused recovery code."

// askTwoFactor remembers that a's password was right and asks for the code.
func (h *handlers) askTwoFactor(c fiber.Ctx, a *admins.Admin, next string) error {
	sess := web.Session(c)
	if err := sess.Regenerate(); err != nil {
		return fmt.Errorf("admin sign-in: new session id: %w", err)
	}
	sess.Set(sessionPendingAdmin, a.ID)
	sess.Set(sessionPendingAt, h.now().Unix())
	sess.Set(sessionPendingNext, next)
	return web.Redirect(c, fiber.StatusSeeOther, twoFactorLoginPath)
}

// pendingAdmin is the admin whose password this session got right in the
// last five minutes, or nil.
func (h *handlers) pendingAdmin(c fiber.Ctx) (*admins.Admin, string, error) {
	sess := web.Session(c)
	id, _ := sess.Get(sessionPendingAdmin).(int64)
	at, _ := sess.Get(sessionPendingAt).(int64)
	if id == 0 || h.now().Sub(time.Unix(at, 0)) > pendingTTL {
		return nil, "", nil
	}
	a, err := admins.Get(c.Context(), h.db, id)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return nil, "", err
	}
	if a == nil { // deleted between password and code: no pending sign-in
		return nil, "", nil
	}
	if a.Status() != admins.StatusActive {
		return nil, "", nil
	}
	next, _ := sess.Get(sessionPendingNext).(string)
	return a, next, nil
}

func clearPending(c fiber.Ctx) {
	sess := web.Session(c)
	sess.Delete(sessionPendingAdmin)
	sess.Delete(sessionPendingAt)
	sess.Delete(sessionPendingNext)
}

// twoFactorForm asks for the code of the admin whose password was right;
// without one (or after five minutes) it is back to the sign-in form.
func (h *handlers) twoFactorForm(c fiber.Ctx) error {
	a, _, err := h.pendingAdmin(c)
	if err != nil {
		return err
	}
	if a == nil {
		return web.Redirect(c, fiber.StatusFound, loginPath)
	}
	return h.renderTwoFactorLogin(c, fiber.StatusOK, "")
}

// twoFactorLogin checks the code (TOTP or recovery). Each attempt counts
// in the same limits as a password (per account and per IP), so the six
// digits cannot be guessed; a code is accepted once.
func (h *handlers) twoFactorLogin(c fiber.Ctx) error {
	ctx := c.Context()
	a, next, err := h.pendingAdmin(c)
	if err != nil {
		return err
	}
	if a == nil {
		web.AddFlash(c, web.FlashInfo, "Your sign-in took too long. Please sign in again.")
		return web.Redirect(c, fiber.StatusSeeOther, loginPath)
	}
	attempt := admins.Login{AdminID: &a.ID, Email: a.Email, IP: web.ClientIP(c), UserAgent: c.Get(fiber.HeaderUserAgent)}
	if wait, err := h.throttle(ctx, a.Email, attempt.IP); err != nil {
		return err
	} else if wait > 0 {
		attempt.Reason = admins.ReasonRateLimited
		h.record(ctx, attempt)
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return h.renderTwoFactorLogin(c, fiber.StatusTooManyRequests, tooManyAttempts(wait))
	}
	err = h.twoFactor.Verify(ctx, h.db, twofactor.AdminAccount(a.ID), c.FormValue("code"))
	if errors.Is(err, twofactor.ErrInvalidCode) {
		attempt.Reason = admins.ReasonTwoFactor
		h.record(ctx, attempt)
		return h.renderTwoFactorLogin(c, fiber.StatusUnprocessableEntity, msgWrongCode)
	}
	if errors.Is(err, twofactor.ErrNotEnrolled) {
		// Turned off meanwhile (an owner reset it): the password was right.
		err = nil
	}
	if err != nil {
		return fmt.Errorf("admin sign-in: %w", err)
	}
	clearPending(c)
	return h.finishSignIn(c, a, attempt, next)
}

func (h *handlers) renderTwoFactorLogin(c fiber.Ctx, status int, errMsg string) error {
	return web.Render(c, status, web.View{
		Page: "admin/login_two_factor", Layout: "layouts/auth", Fragment: "admin/login_two_factor/form",
		Data: fiber.Map{"Title": "Two-factor sign-in", "Error": errMsg},
	})
}
