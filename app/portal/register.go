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
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// msgRegistered is the answer to every accepted registration when the new
// account must confirm its email, and to a registration with an email that
// already has an account (whose owner is emailed a password reset link
// instead): the form never tells whether an address is registered.
const msgRegistered = "Thanks for registering. We have sent an email to %s: follow its link to continue."

// errPasswordMismatch rolls back an account whose password fields failed.
var errPasswordMismatch = errors.New("password missing or not confirmed")

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
	if cu, err := h.signedIn(c); err != nil {
		return err
	} else if cu != nil {
		return web.Redirect(c, fiber.StatusFound, dashboardPath)
	}
	return h.renderRegister(c, fiber.StatusOK, registerView{}, nil)
}

// register creates an account with a generated client ID. With
// email_verification_required it stays unconfirmed and the confirmation
// email is queued in the same transaction; otherwise it is confirmed and
// signed in at once. An email that already has an account gets the same
// answer as a new one (after the same validation, so invalid input answers
// alike too), and its owner is sent a password reset link.
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
	password := c.FormValue("password")
	mismatch := password != c.FormValue("password_confirmation")
	captchaMsg, _, err := h.checkCaptcha(c, set, captcha.FormRegister)
	if err != nil {
		return err
	}

	var created *customers.Customer
	err = h.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		confirmed := !set.EmailVerificationRequired
		cu, err := h.customers.Create(ctx, tx, source(c, nil), set, customers.CreateParams{
			Name: v.Name, Email: v.Email, Password: password, Confirmed: &confirmed,
		})
		if err != nil {
			return err
		}
		if mismatch || password == "" || captchaMsg != "" {
			return errPasswordMismatch // roll the account back
		}
		if !confirmed {
			if m := h.mailer(ctx); m != nil {
				if err := m.EmailConfirmation(ctx, tx, set, cu, cu.Email); err != nil {
					return err
				}
			}
		}
		created = cu
		return nil
	})

	errs := map[string]string{}
	if verr, ok := fields.As(err); ok {
		errs = verr.Map()
	} else if err != nil && !errors.Is(err, errPasswordMismatch) {
		return fmt.Errorf("portal registration: %w", err)
	}
	if password == "" {
		errs["password"] = fields.Required("password")
	}
	if mismatch && errs["password"] == "" {
		errs["password_confirmation"] = "The password confirmation does not match."
	}
	if captchaMsg != "" {
		errs["captcha"] = captchaMsg
	}
	// The client ID is generated, so its field cannot be the customer's
	// fault; the email being taken is answered like a new account.
	taken := errs["email"] == fields.Taken("email")
	if taken {
		delete(errs, "email")
	}
	if len(errs) > 0 {
		return h.renderRegister(c, fiber.StatusUnprocessableEntity, v, errs)
	}
	if taken {
		return h.registeredExisting(c, set, v.Email)
	}

	if !set.EmailVerificationRequired {
		if err := h.startSession(c, created, false); err != nil {
			return err
		}
		web.AddFlash(c, web.FlashSuccess, "Welcome, "+created.Name+". Your account is ready.")
		return web.Redirect(c, fiber.StatusSeeOther, dashboardPath)
	}
	web.AddFlash(c, web.FlashInfo, fmt.Sprintf(msgRegistered, created.Email))
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
}

// registeredExisting answers a registration with an address that has an
// account: the owner gets a password reset link (they may have forgotten
// they registered) and the visitor the same answer as a new account.
func (h *handlers) registeredExisting(c fiber.Ctx, set *settings.Values, email string) error {
	ctx := c.Context()
	cu, err := customers.ByEmail(ctx, h.db, email)
	if err != nil && !errors.Is(err, customers.ErrNotFound) {
		return fmt.Errorf("portal registration: %w", err)
	}
	if cu != nil {
		if m := h.mailer(ctx); m != nil {
			if err := m.PasswordReset(ctx, h.db, set, cu); err != nil {
				return fmt.Errorf("portal registration: %w", err)
			}
		}
	}
	web.AddFlash(c, web.FlashInfo, fmt.Sprintf(msgRegistered, email))
	return web.Redirect(c, fiber.StatusSeeOther, loginPath)
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
