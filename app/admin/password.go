package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

const msgForgotSent = "If an admin account uses that address, we have sent it a link to reset the password. The link is valid for 60 minutes."

// Limits of the forgot-password form, as the portal's: 10 requests per IP
// in 15 minutes (then 429), 3 emails per address an hour (then the same
// answer and no email).
const (
	forgotPerIP    = 10
	forgotIPWindow = 15 * time.Minute
	forgotPerEmail = 3
	forgotWindow   = time.Hour
)

// forgotForm asks for the address to send a reset link to.
func (h *handlers) forgotForm(c fiber.Ctx) error {
	return h.renderForgot(c, fiber.StatusOK, c.Query("email"), "")
}

// forgot emails a reset link when an active admin uses the address, and
// answers the same whether or not one does.
func (h *handlers) forgot(c fiber.Ctx) error {
	ctx := c.Context()
	email := strings.TrimSpace(c.FormValue("email"))
	r, err := h.limiter.Hit(ctx, "admin-forgot:ip:"+web.ClientIP(c), forgotPerIP, forgotIPWindow)
	if err != nil {
		return fmt.Errorf("admin forgot password: %w", err)
	}
	if !r.Allowed {
		c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(r.RetryAfter.Seconds())+1))
		return h.renderForgot(c, fiber.StatusTooManyRequests, email, "Too many requests. Please try again later.")
	}
	if email == "" {
		return h.renderForgot(c, fiber.StatusUnprocessableEntity, email, fields.Required("email"))
	}
	send := true
	if r, err := h.limiter.Hit(ctx, "admin-forgot:email:"+strings.ToLower(clip(email, 254)), forgotPerEmail, forgotWindow); err != nil {
		return fmt.Errorf("admin forgot password: %w", err)
	} else if !r.Allowed {
		send = false
	}
	a, err := admins.ByEmail(ctx, h.db, email)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return fmt.Errorf("admin forgot password: %w", err)
	}
	if a != nil && a.Status() == admins.StatusActive && send {
		if m := h.mailer(); m != nil {
			set, err := h.currentSettings(ctx)
			if err != nil {
				return err
			}
			if err := m.AdminPasswordReset(ctx, h.db, set, a); err != nil {
				return fmt.Errorf("admin forgot password: %w", err)
			}
		}
	}
	web.AddFlash(c, web.FlashInfo, msgForgotSent)
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

func (h *handlers) renderForgot(c fiber.Ctx, status int, email, errMsg string) error {
	return web.Render(c, status, web.View{
		Page: "admin/password_forgot", Layout: "layouts/auth", Fragment: "admin/password_forgot/form",
		Data: fiber.Map{"Title": "Forgot your password?", "Email": email, "Error": errMsg},
	})
}

// resetForm asks for the new password of a reset link (checked, not used:
// the link is used when the form is sent).
func (h *handlers) resetForm(c fiber.Ctx) error {
	if _, err := admins.PeekToken(c.Context(), h.db, c.Params("token"), admins.TokenPasswordReset, h.now()); err != nil {
		return h.linkInvalid(c, err)
	}
	return h.renderSetPassword(c, fiber.StatusOK, setPasswordView{Title: "Choose a new password", Action: c.Path()}, nil)
}

// reset sets the password of a reset link (once), ends every session of
// the admin, and asks them to sign in with it.
func (h *handlers) reset(c fiber.Ctx) error {
	v := setPasswordView{Title: "Choose a new password", Action: c.Path()}
	password, errs := readNewPassword(c)
	if errs != nil {
		return h.renderSetPassword(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	var a *admins.Admin
	err := h.db.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		a, err = admins.ResetPassword(ctx, tx, web.ClientIP(c), c.Params("token"), password, h.now())
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderSetPassword(c, fiber.StatusUnprocessableEntity, v, verr.Map())
	}
	if err != nil {
		return h.linkInvalid(c, err)
	}
	web.AddFlash(c, web.FlashSuccess, "Your password has been changed and your sessions were signed out. Sign in with the new password.")
	return web.Redirect(c, fiber.StatusSeeOther, loginPath+"?email="+urlQuery(a.Email))
}

// invitationForm asks an invited admin to choose a password.
func (h *handlers) invitationForm(c fiber.Ctx) error {
	t, err := admins.PeekToken(c.Context(), h.db, c.Params("token"), admins.TokenInvitation, h.now())
	if err != nil {
		return h.linkInvalid(c, err)
	}
	a, err := admins.Get(c.Context(), h.db, t.AdminID)
	if err != nil {
		return h.linkInvalid(c, err)
	}
	return h.renderSetPassword(c, fiber.StatusOK, setPasswordView{Title: "Welcome, " + a.Name, Action: c.Path(), Email: a.Email, Invitation: true}, nil)
}

// acceptInvitation sets the invited admin's first password (the link is
// used) and asks them to sign in.
func (h *handlers) acceptInvitation(c fiber.Ctx) error {
	v := setPasswordView{Title: "Choose your password", Action: c.Path(), Invitation: true}
	password, errs := readNewPassword(c)
	if errs != nil {
		return h.renderSetPassword(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	var a *admins.Admin
	err := h.db.RunInTx(c.Context(), nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		a, err = admins.AcceptInvitation(ctx, tx, web.ClientIP(c), c.Params("token"), password, h.now())
		return err
	})
	if verr, ok := fields.As(err); ok {
		return h.renderSetPassword(c, fiber.StatusUnprocessableEntity, v, verr.Map())
	}
	if err != nil {
		return h.linkInvalid(c, err)
	}
	web.AddFlash(c, web.FlashSuccess, "Your password is set. Sign in to open the console.")
	return web.Redirect(c, fiber.StatusSeeOther, loginPath+"?email="+urlQuery(a.Email))
}

type setPasswordView struct {
	Title, Action, Email string
	Invitation           bool
}

// readNewPassword reads password and password_confirmation; errs is nil
// when both are there and match.
func readNewPassword(c fiber.Ctx) (string, map[string]string) {
	password := c.FormValue("password")
	switch {
	case password == "":
		return "", map[string]string{"password": fields.Required("password")}
	case password != c.FormValue("password_confirmation"):
		return "", map[string]string{"password_confirmation": "The password confirmation does not match."}
	}
	return password, nil
}

func (h *handlers) renderSetPassword(c fiber.Ctx, status int, v setPasswordView, errs map[string]string) error {
	if errs == nil {
		errs = map[string]string{}
	}
	return web.Render(c, status, web.View{
		Page: "admin/password_set", Layout: "layouts/auth",
		Data: fiber.Map{"Title": v.Title, "Form": v, "Errors": errs, "MinLength": admins.MinPasswordLength},
	})
}

// linkInvalid answers a link that is unknown, used or expired (400), or
// the error behind it.
func (h *handlers) linkInvalid(c fiber.Ctx, err error) error {
	// An account gone since the link was sent must look like any bad link
	// (no enumeration), so this is not left to the not-found page.
	if errors.Is(err, admins.ErrTokenInvalid) || errors.Is(err, admins.ErrNotFound) {
		return web.Render(c, fiber.StatusBadRequest, web.View{
			Page: "errors/4xx", Layout: "layouts/auth",
			Data: fiber.Map{"Title": "Link invalid or expired", "Status": fiber.StatusBadRequest,
				"Message": "This link is invalid, has expired or was already used. Ask for a new one (Forgot password? on the sign-in page, or an owner of this console for an invitation)."},
		})
	}
	return err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func urlQuery(s string) string { return url.QueryEscape(s) }
