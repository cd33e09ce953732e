package customers

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/twofactor"
)

// A customer's own security changes in the portal: each changes the
// account's sessions or second factor and logs it in the same
// transaction (tx), as the customer by.

// EndSession signs c's session id out (sessions.ErrEnded when it is not
// c's or has ended).
func EndSession(ctx context.Context, tx bun.IDB, by audit.Source, c *Customer, id int64) error {
	if err := sessions.End(ctx, tx, sessions.CustomerOwner(c.ID), id); err != nil {
		return err
	}
	return recordSecurity(ctx, tx, by, c, "customer.session_ended", "signed out one of their sessions")
}

// EndOtherSessions signs every session of c but keep out and returns how
// many ended.
func EndOtherSessions(ctx context.Context, tx bun.IDB, by audit.Source, c *Customer, keep int64) (int64, error) {
	n, err := sessions.EndAll(ctx, tx, sessions.CustomerOwner(c.ID), keep)
	if err != nil {
		return 0, err
	}
	return n, recordSecurity(ctx, tx, by, c, "customer.sessions_ended", fmt.Sprintf("signed out their other sessions (%d)", n))
}

// ConfirmTwoFactor turns c's two-factor sign-in on with the first code of
// the enrolment tf began, and returns the recovery codes.
func ConfirmTwoFactor(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, c *Customer, code string) ([]string, error) {
	codes, err := tf.Confirm(ctx, tx, twofactor.CustomerAccount(c.ID), code)
	if err != nil {
		return nil, err
	}
	return codes, recordSecurity(ctx, tx, by, c, "customer.two_factor_enabled", "turned on two-factor sign-in")
}

// NewRecoveryCodes replaces c's recovery codes and returns the new ones.
func NewRecoveryCodes(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, c *Customer) ([]string, error) {
	codes, err := tf.NewRecoveryCodes(ctx, tx, twofactor.CustomerAccount(c.ID))
	if err != nil {
		return nil, err
	}
	return codes, recordSecurity(ctx, tx, by, c, "customer.recovery_codes", "made new recovery codes")
}

// DisableTwoFactor turns c's two-factor sign-in off.
func DisableTwoFactor(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, c *Customer) error {
	if _, err := tf.Disable(ctx, tx, twofactor.CustomerAccount(c.ID)); err != nil {
		return err
	}
	return recordSecurity(ctx, tx, by, c, "customer.two_factor_disabled", "turned off two-factor sign-in")
}

// recordSecurity logs c's security change: "Customer <email> <what>.".
func recordSecurity(ctx context.Context, tx bun.IDB, by audit.Source, c *Customer, typ, what string) error {
	return audit.Record(ctx, tx, audit.Entry{Type: typ, Actor: by.Actor, IP: by.IP,
		Subject: &audit.Subject{Type: audit.SubjectCustomer, ID: c.ID},
		Message: fmt.Sprintf("Customer %s %s.", c.Email, what)})
}
