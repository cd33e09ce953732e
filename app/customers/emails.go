package customers

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/settings"
)

// ErrAlreadyConfirmed is returned by SendConfirmation for a customer whose
// email is confirmed: there is nothing to confirm.
var ErrAlreadyConfirmed = errkind.New(errkind.Conflict, "the customer has already confirmed the email")

// errNoMailer: the hook that queues the email is missing.
var errNoMailer = errors.New("customers: no hook queues this email")

// SendPasswordReset queues a password reset link to c, the portal's
// "forgot password" email (the ResetPassword hook), and logs it
// (customer.password_reset_sent) in idb, for an admin sending it from the
// console.
func (s *Service) SendPasswordReset(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, c *Customer) error {
	if s.hooks.ResetPassword == nil {
		return errNoMailer
	}
	if err := s.hooks.ResetPassword(ctx, idb, set, c); err != nil {
		return fmt.Errorf("password reset email: %w", err)
	}
	return recordEmail(ctx, idb, by, c, "customer.password_reset_sent", "Password reset link queued for %s.")
}

// SendConfirmation queues a new link confirming c's email (the
// ConfirmEmail hook) and logs it (customer.confirmation_sent) in idb; a
// customer whose email is confirmed and proven gets ErrAlreadyConfirmed
// (one who may sign in but never proved the address may still prove it:
// docs/deploy.md#licenses-linked-by-email).
func (s *Service) SendConfirmation(ctx context.Context, idb bun.IDB, by audit.Source, set *settings.Values, c *Customer) error {
	if c.Confirmed() && c.EmailProven() {
		return ErrAlreadyConfirmed
	}
	if s.hooks.ConfirmEmail == nil {
		return errNoMailer
	}
	if err := s.hooks.ConfirmEmail(ctx, idb, set, c); err != nil {
		return fmt.Errorf("confirmation email: %w", err)
	}
	return recordEmail(ctx, idb, by, c, "customer.confirmation_sent", "Confirmation email queued for %s.")
}

// recordEmail logs an email queued to c; message names c's address.
func recordEmail(ctx context.Context, idb bun.IDB, by audit.Source, c *Customer, typ, message string) error {
	return audit.Record(ctx, idb, audit.Entry{
		Type: typ, Actor: by.Actor, IP: by.IP, Subject: &audit.Subject{Type: audit.SubjectCustomer, ID: c.ID},
		Message: fmt.Sprintf(message, c.Email),
	})
}
