package portal

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

const msgForgotSent = "If an account uses that address, we have sent it a link to reset the password. The link is valid for 60 minutes."

// forgotForm asks for the address to send a reset link to.
func (h *handlers) forgotForm(c fiber.Ctx) error {
	return h.renderEmailForm(c, fiber.StatusOK, "portal/forgot", "Forgot your password?", "", "")
}

// forgot emails a reset link (60 minutes) when an account uses the address,
// and answers the same, after the same work, whether or not one does.
// Limits as resend.
func (h *handlers) forgot(c fiber.Ctx) error {
	ctx := c.Context()
	email := strings.TrimSpace(c.FormValue("email"))
	send, err := h.emailThrottle(c, "customer-forgot", email)
	if err != nil || !send.ok {
		return h.emailThrottled(c, err, send, "portal/forgot", "Forgot your password?", email)
	}
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	if msg, _, err := h.checkCaptcha(c, set, captcha.FormPasswordForgot); err != nil {
		return err
	} else if msg != "" {
		return h.renderEmailFormCaptcha(c, fiber.StatusUnprocessableEntity, "portal/forgot", "Forgot your password?", email, "", msg)
	}
	// The same work whether or not the address has an account: a job
	// looks it up and sends the link (docs/deploy.md#registration-and-forgotten-passwords).
	if email != "" && send.email {
		if err := h.customers.RequestPasswordReset(ctx, h.db, email); err != nil {
			return fmt.Errorf("portal forgot password: %w", err)
		}
	}
	web.AddFlash(c, web.FlashInfo, msgForgotSent)
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

// resetForm asks for the new password. The token is checked when the form
// is sent, so opening the page does not use it up.
func (h *handlers) resetForm(c fiber.Ctx) error {
	return h.renderReset(c, fiber.StatusOK, nil)
}

// reset sets the password of a reset or set-password link (single-use;
// using it cancels the customer's other password links) and ends every
// session of the customer. A session of the same customer in this browser
// stays signed in on a new ID; anyone else signs in again. Invalid input
// leaves the link unused.
func (h *handlers) reset(c fiber.Ctx) error {
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	password := c.FormValue("password")
	errs := map[string]string{}
	if password == "" {
		errs["password"] = fields.Required("password")
	} else if password != c.FormValue("password_confirmation") {
		errs["password_confirmation"] = "The password confirmation does not match."
	}
	if len(errs) > 0 {
		return h.renderReset(c, fiber.StatusUnprocessableEntity, errs)
	}

	var cu *customers.Customer
	err = h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := customers.ConsumeToken(ctx, tx, c.Params("token"), h.now(), customers.TokenPasswordReset, customers.TokenPasswordSet)
		if err != nil {
			return err
		}
		cu, err = h.customers.Update(ctx, tx, source(c, nil), set, t.CustomerID,
			customers.UpdateParams{Password: fields.Some(password), KeepSession: sessionOf(c, t.CustomerID)})
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderReset(c, fiber.StatusUnprocessableEntity, verr.Map())
	}
	// An account gone since the link was sent must look like any bad link
	// (no enumeration), so this is not left to the not-found page.
	if errors.Is(err, customers.ErrTokenInvalid) || errors.Is(err, customers.ErrNotFound) {
		return h.renderMessage(c, fiber.StatusBadRequest, "Link invalid or expired",
			"This password link is invalid, has expired or was already used. Ask for a new one from the sign-in page.", false)
	}
	if err != nil {
		return fmt.Errorf("portal password reset: %w", err)
	}

	if signed, _, err := h.signedIn(c); err == nil && signed != nil && signed.ID == cu.ID {
		if err := web.Session(c).Regenerate(); err != nil {
			return fmt.Errorf("portal password reset: new session id: %w", err)
		}
		web.AddFlash(c, web.FlashSuccess, "Your password has been changed. Your other sessions were signed out.")
		return web.Redirect(c, fiber.StatusSeeOther, dashboardPath)
	}
	web.AddFlash(c, web.FlashSuccess, "Your password has been changed. You can sign in with it now.")
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

func (h *handlers) renderReset(c fiber.Ctx, status int, errs map[string]string) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	return web.Render(c, status, web.View{
		Page:     "portal/reset",
		Layout:   "layouts/portal",
		Fragment: "portal/reset/form",
		Data: fiber.Map{
			"Title": "Choose a new password", "Token": c.Params("token"), "Errors": errs,
			"PasswordMin": set.PasswordMinLength,
		},
	})
}
