package portal

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/licensor/licensor/app/captcha"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/web"
)

// msgRegistered is the answer to every accepted registration when the new
// account must confirm its email, and to a registration with an email that
// already has an account (whose owner is emailed a password reset link
// instead): the form never tells whether an address is registered.
const msgRegistered = "Thanks for registering. We have sent an email to %s: follow its link to continue."

type registerView struct {
	Name, Email string
}

// registerForm shows the registration form, or 404 when registration is
// off.
func (h *handlers) registerForm(c fiber.Ctx) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	if !set.RegistrationEnabled {
		return fiber.ErrNotFound
	}
	if cu, _, err := h.signedIn(c); err != nil {
		return err
	} else if cu != nil {
		return web.Redirect(c, fiber.StatusFound, dashboardPath)
	}
	return h.renderRegister(c, fiber.StatusOK, registerView{}, nil)
}

// register creates an account (customers.Register holds the rules:
// confirmation, the same answer for a known email). The CAPTCHA and the
// password confirmation are the form's: when either fails Register only
// checks the fields, so every error shows at once.
func (h *handlers) register(c fiber.Ctx) error {
	ctx := c.Context()
	set, err := h.settings.Get(ctx)
	if err != nil {
		return err
	}
	if !set.RegistrationEnabled {
		return fiber.ErrNotFound
	}
	v := registerView{Name: strings.TrimSpace(c.FormValue("name")), Email: strings.TrimSpace(c.FormValue("email"))}
	// Limited as forgot-password: per IP here, and per address (whether
	// or not it has an account: each registration emails it) once the form
	// is right (docs/deploy.md#registration-and-forgotten-passwords).
	ipHit, err := h.limiter.Hit(ctx, "customer-register:ip:"+web.ClientIP(c), emailFormPerIP, emailFormIPWindow)
	if err != nil {
		return fmt.Errorf("portal registration: %w", err)
	}
	if !ipHit.Allowed {
		return h.registerThrottled(c, v, ipHit.RetryAfter)
	}
	password := c.FormValue("password")
	mismatch := password != c.FormValue("password_confirmation")
	captchaMsg, _, err := h.checkCaptcha(c, set, captcha.FormRegister)
	if err != nil {
		return err
	}

	reg := customers.Registration{Name: v.Name, Email: v.Email, Password: password, Refused: true}
	_, err = h.customers.Register(ctx, h.db, source(c, nil), set, reg)
	if err == nil && !mismatch && captchaMsg == "" {
		addrHit, err := h.limiter.Hit(ctx, "customer-register:email:"+strings.ToLower(v.Email), emailsPerAddress, emailsWindow)
		if err != nil {
			return fmt.Errorf("portal registration: %w", err)
		}
		if !addrHit.Allowed {
			return h.registerThrottled(c, v, addrHit.RetryAfter)
		}
		reg.Refused = false
	}
	var created *customers.Customer
	if !reg.Refused {
		created, err = h.customers.Register(ctx, h.db, source(c, nil), set, reg)
	}
	errs := map[string]string{}
	if verr, ok := fields.As(err); ok {
		errs = verr.Map()
	} else if err != nil && !errors.Is(err, customers.ErrAlreadyRegistered) {
		return fmt.Errorf("portal registration: %w", err)
	}
	if mismatch && errs["password"] == "" {
		errs["password_confirmation"] = "The password confirmation does not match."
	}
	if captchaMsg != "" {
		errs["captcha"] = captchaMsg
	}
	if len(errs) > 0 {
		return h.renderRegister(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	if errors.Is(err, customers.ErrAlreadyRegistered) {
		web.AddFlash(c, web.FlashInfo, fmt.Sprintf(msgRegistered, v.Email))
		return web.Redirect(c, fiber.StatusSeeOther, loginPath)
	}

	if created.Confirmed() {
		if err := h.startSession(c, created, false); err != nil {
			return err
		}
		web.AddFlash(c, web.FlashSuccess, "Welcome, "+created.Name+". Your account is ready.")
		return web.Redirect(c, fiber.StatusSeeOther, dashboardPath)
	}
	web.AddFlash(c, web.FlashInfo, fmt.Sprintf(msgRegistered, created.Email))
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

// registerThrottled answers a registration over its limits.
func (h *handlers) registerThrottled(c fiber.Ctx, v registerView, wait time.Duration) error {
	c.Set(fiber.HeaderRetryAfter, fmt.Sprint(int(wait.Seconds())+1))
	return h.renderRegister(c, fiber.StatusTooManyRequests, v, map[string]string{"email": "Too many requests. Please try again later."})
}

func (h *handlers) renderRegister(c fiber.Ctx, status int, v registerView, errs map[string]string) error {
	set, err := h.settings.Get(c.Context())
	if err != nil {
		return err
	}
	widget, err := h.captchaWidget(c, captcha.FormRegister)
	if err != nil {
		return err
	}
	return web.Render(c, status, web.View{
		Page:     "portal/register",
		Layout:   "layouts/portal",
		Fragment: "portal/register/form",
		Data: fiber.Map{"Title": "Create an account", "Form": v, "Errors": errs, "PasswordMin": set.PasswordMinLength,
			"Captcha": widget, "CaptchaError": errs["captcha"], "CaptchaForm": captcha.FormRegister},
	})
}
