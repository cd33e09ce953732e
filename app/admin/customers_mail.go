package admin

import (
	"context"
	"fmt"

	"github.com/gofiber/fiber/v3"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/web"
)

// customerSendPasswordReset emails the customer a password reset link (60
// minutes), the portal's "forgot password" email, queued in one
// transaction with its activity-log line.
func (h *handlers) customerSendPasswordReset(c fiber.Ctx) error {
	return h.customerEmail(c, "customer.password_reset_sent", "Password reset link queued for %s.",
		func(ctx context.Context, tx bun.IDB, m *mail.Mailer, set *settings.Values, cu *customers.Customer) error {
			return m.PasswordReset(ctx, tx, set, cu)
		})
}

// customerResendConfirmation emails an unconfirmed customer a new email
// confirmation link (24 hours); a confirmed customer is refused.
func (h *handlers) customerResendConfirmation(c fiber.Ctx) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	if cu.Confirmed() {
		web.AddFlash(c, web.FlashError, fmt.Sprintf("%s has already confirmed %s; no confirmation email was sent.", cu.Name, cu.Email))
		return web.Redirect(c, fiber.StatusSeeOther, customerPath(cu.ID))
	}
	return h.customerEmail(c, "customer.confirmation_sent", "Confirmation email queued for %s.",
		func(ctx context.Context, tx bun.IDB, m *mail.Mailer, set *settings.Values, cu *customers.Customer) error {
			return m.EmailConfirmation(ctx, tx, set, cu, cu.Email)
		})
}

// customerEmail queues one email to the customer of the URL with send,
// logs typ, flashes done (a format naming the address) and goes back to
// the customer's page.
func (h *handlers) customerEmail(c fiber.Ctx, typ, done string,
	send func(ctx context.Context, tx bun.IDB, m *mail.Mailer, set *settings.Values, cu *customers.Customer) error,
) error {
	cu, err := h.customerOf(c)
	if err != nil {
		return err
	}
	m := h.mailer()
	if m == nil {
		web.AddFlash(c, web.FlashError, msgNoMailer)
		return web.Redirect(c, fiber.StatusSeeOther, customerPath(cu.ID))
	}
	by := source(c)
	err = h.inTx(c, func(ctx context.Context, tx bun.IDB) error {
		set, err := h.currentSettings(ctx)
		if err != nil {
			return err
		}
		if err := send(ctx, tx, m, set, cu); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{
			Type: typ, Actor: by.Actor, IP: by.IP, Subject: &audit.Subject{Type: audit.SubjectCustomer, ID: cu.ID},
			Message: fmt.Sprintf(done, cu.Email),
		})
	})
	if err != nil {
		return fmt.Errorf("customer %d email: %w", cu.ID, err)
	}
	web.AddFlash(c, web.FlashSuccess, fmt.Sprintf(done, cu.Email))
	return web.Redirect(c, fiber.StatusSeeOther, customerPath(cu.ID))
}
