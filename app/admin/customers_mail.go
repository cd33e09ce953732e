package admin

import (
	"context"
	"errors"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// customerSendPasswordReset emails the customer a password reset link (60
// minutes), the portal's "forgot password" email, queued in one
// transaction with its activity-log line.
func (h *handlers) customerSendPasswordReset(c fiber.Ctx) error {
	return h.customerEmail(c, "Password reset link queued for %s.", h.customers.SendPasswordReset)
}

// customerResendConfirmation emails an unconfirmed customer a new email
// confirmation link (24 hours); a confirmed customer is refused.
func (h *handlers) customerResendConfirmation(c fiber.Ctx) error {
	return h.customerEmail(c, "Confirmation email queued for %s.", h.customers.SendConfirmation)
}

// customerEmail queues one email to the customer of the URL with send
// (which logs it), flashes done (a format naming the address) and goes back to
// the customer's page (or to the form's back, the list it was sent from).
func (h *handlers) customerEmail(c fiber.Ctx, done string,
	send func(ctx context.Context, tx bun.IDB, by audit.Source, set *settings.Values, cu *customers.Customer) error,
) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	back := web.LocalPath(c.FormValue("back"), customerPath(cu.ID))
	if h.mailer() == nil {
		web.AddFlash(c, web.FlashError, msgNoMailer)
		return web.Redirect(c, fiber.StatusSeeOther, back)
	}
	by := source(c)
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		return send(ctx, tx, by, set, cu)
	})
	if errors.Is(err, customers.ErrAlreadyConfirmed) {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("%s has already confirmed %s; no confirmation email was sent.", cu.Name, cu.Email))
		return web.Redirect(c, fiber.StatusSeeOther, customerPath(cu.ID))
	}
	if err != nil {
		return fmt.Errorf("customer %d email: %w", cu.ID, err)
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf(done, cu.Email))
	return web.Redirect(c, fiber.StatusSeeOther, back)
}
