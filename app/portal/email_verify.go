package portal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

const msgResent = "If an unconfirmed account uses that address, we have sent it a new confirmation link."

// verifyEmail confirms the address of a confirmation link (single-use,
// 24 hours). A link for another address than the account's (an email
// change) makes that address the account's, confirmed.
func (h *handlers) verifyEmail(c fiber.Ctx) error {
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	var changedTo string
	err = h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := customers.ConsumeToken(ctx, tx, c.Params("token"), h.now(), customers.TokenEmailVerification)
		if err != nil {
			return err
		}
		cu, err := customers.Get(ctx, tx, t.CustomerID)
		if err != nil {
			return err
		}
		p := customers.UpdateParams{KeepSession: sessionOf(c, cu.ID), ProveEmail: true}
		if !strings.EqualFold(cu.Email, t.Email) {
			p.Email = fields.Some(t.Email)
		}
		if !cu.Confirmed() || !cu.EmailProven() || p.Email.Set {
			p.Confirmed = fields.Some(true)
			if _, err = h.customers.Update(ctx, tx, source(c, cu), set, cu.ID, p); err != nil {
				return err
			}
		}
		if p.Email.Set {
			// An email change: the old address is told, in the same
			// transaction.
			changedTo = t.Email
			if m := h.mailer(ctx); m != nil {
				return m.EmailChanged(ctx, tx, set, cu, cu.Email, t.Email)
			}
		}
		return nil
	})
	if verr, ok := fields.As(err); ok && verr.Has("email") {
		return h.renderMessage(c, fiber.StatusConflict, "Email address not available",
			"This email address is now used by another account, so your address was not changed. Choose another one in your settings.", false)
	}
	// An account gone since the link was sent must look like any bad link
	// (no enumeration), so this is not left to the not-found page.
	if _, invalid := fields.As(err); invalid || errors.Is(err, customers.ErrTokenInvalid) || errors.Is(err, customers.ErrNotFound) {
		return h.renderMessage(c, fiber.StatusBadRequest, "Link invalid or expired",
			"This confirmation link is invalid, has expired or was already used.", true)
	}
	if err != nil {
		return fmt.Errorf("portal email confirmation: %w", err)
	}
	// The proven address may link licenses (the linking rule): the pages
	// after this link read the primary.
	web.MarkWrite(c)
	if changedTo != "" {
		web.AddFlash(c, web.FlashSuccess, "Your email address is now "+changedTo+".")
		if cu, _, err := h.signedIn(c); err == nil && cu != nil {
			return web.Redirect(c, fiber.StatusSeeOther, settingsPath)
		}
		return web.Redirect(c, fiber.StatusSeeOther, loginPath)
	}
	web.AddFlash(c, web.FlashSuccess, "Your email address is confirmed. You can sign in now.")
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

// resendForm asks for the address to send a new confirmation link to.
func (h *handlers) resendForm(c fiber.Ctx) error {
	return h.renderEmailForm(c, fiber.StatusOK, "portal/resend", "Resend the confirmation email", c.Query("email"), "")
}

// resend sends a new confirmation link when an unconfirmed account uses the
// address, and answers the same whatever the address. Limits: an IP
// address gets 10 requests in 15 minutes (then 429); an address gets 3
// emails an hour, after which requests are answered but send nothing.
func (h *handlers) resend(c fiber.Ctx) error {
	ctx := c.Context()
	email := strings.TrimSpace(c.FormValue("email"))
	send, err := h.emailThrottle(c, "customer-resend", email)
	if err != nil || !send.ok {
		return h.emailThrottled(c, err, send, "portal/resend", "Resend the confirmation email", email)
	}
	cu, err := customers.ByEmail(ctx, h.db, email)
	if err := errkind.IgnoreNotFound(err); err != nil {
		return fmt.Errorf("portal resend confirmation: %w", err)
	}
	if cu != nil && (!cu.Confirmed() || !cu.EmailProven()) && send.email {
		set, err := h.settings.Get(ctx)
		if err != nil {
			return err
		}
		if m := h.mailer(ctx); m != nil {
			if err := m.EmailConfirmation(ctx, h.db, set, cu, cu.Email); err != nil {
				return fmt.Errorf("portal resend confirmation: %w", err)
			}
		}
	}
	web.AddFlash(c, web.FlashInfo, msgResent)
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

// Limits of the forms that email a link (resend, forgot password).
const (
	emailFormPerIP    = 10
	emailFormIPWindow = 15 * time.Minute
	emailsPerAddress  = 3
	emailsWindow      = time.Hour
)

type emailThrottleResult struct {
	ok    bool          // the IP address is within its limit
	email bool          // the address may be sent another email
	wait  time.Duration // when !ok
}

// emailThrottle counts a request of a form that emails a link, per client
// IP and per address (bucket prefix names the form).
func (h *handlers) emailThrottle(c fiber.Ctx, prefix, email string) (emailThrottleResult, error) {
	ctx := c.Context()
	r, err := h.limiter.Hit(ctx, prefix+":ip:"+web.ClientIP(c), emailFormPerIP, emailFormIPWindow)
	if err != nil {
		return emailThrottleResult{}, fmt.Errorf("%s: %w", prefix, err)
	}
	if !r.Allowed {
		return emailThrottleResult{wait: r.RetryAfter}, nil
	}
	if email == "" {
		return emailThrottleResult{ok: true}, nil
	}
	if len(email) > 254 {
		email = email[:254]
	}
	r, err = h.limiter.Hit(ctx, prefix+":email:"+strings.ToLower(email), emailsPerAddress, emailsWindow)
	if err != nil {
		return emailThrottleResult{}, fmt.Errorf("%s: %w", prefix, err)
	}
	return emailThrottleResult{ok: true, email: r.Allowed}, nil
}

// emailThrottled answers a request emailThrottle refused (or the error it
// returned).
func (h *handlers) emailThrottled(c fiber.Ctx, err error, r emailThrottleResult, page, title, email string) error {
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(r.wait.Seconds())+1))
	return h.renderEmailForm(c, fiber.StatusTooManyRequests, page, title, email,
		"Too many requests. Please try again later.")
}

func (h *handlers) renderEmailForm(c fiber.Ctx, status int, page, title, email, errMsg string) error {
	return h.renderEmailFormCaptcha(c, status, page, title, email, errMsg, "")
}

// renderEmailFormCaptcha draws the resend or forgot-password form; the
// forgot-password form carries the CAPTCHA (with captchaErr next to it)
// when the settings ask for one.
func (h *handlers) renderEmailFormCaptcha(c fiber.Ctx, status int, page, title, email, errMsg, captchaErr string) error {
	data := fiber.Map{"Title": title, "Email": email, "Error": errMsg, "CaptchaError": captchaErr}
	if page == "portal/forgot" {
		widget, err := h.captchaWidget(c, captcha.FormPasswordForgot)
		if err != nil {
			return err
		}
		data["Captcha"], data["CaptchaForm"] = widget, captcha.FormPasswordForgot
	}
	return web.Render(c, status, web.View{
		Page:     page,
		Layout:   "layouts/portal",
		Fragment: page + "/form",
		Data:     data,
	})
}

// renderMessage draws a page holding one message (an invalid link, say),
// with a link to ask for a new confirmation email when resend is set.
func (h *handlers) renderMessage(c fiber.Ctx, status int, title, message string, resend bool) error {
	return web.Render(c, status, web.View{
		Page:   "portal/message",
		Layout: "layouts/portal",
		Data:   fiber.Map{"Title": title, "Message": message, "Resend": resend},
	})
}
