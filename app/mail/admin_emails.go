package mail

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/settings"
)

// Console paths the admin emails link to; the console's pages use the
// tokens with admins.ConsumeToken.
const (
	PathAdminInvitation    = "/admin/invitation"            // + /{token}
	PathAdminPasswordReset = "/admin/password/reset"        // + /{token}
	PathAdminEmailConfirm  = "/admin/account/email/confirm" // + /{token}
	PathAdminForgot        = "/admin/password/forgot"
)

type adminInvitationData struct {
	AppName, Name, InvitedBy, Role, Link string
}

// AdminInvitation invites admin a (created without a password) to the
// console: subject "You are invited to <app> as <role>", a link to
// /admin/invitation/{token} where they choose their password, valid 7 days.
// Without SMTP it waits in the outbox, where an owner can copy the link.
func (m *Mailer) AdminInvitation(ctx context.Context, idb bun.IDB, set *settings.Values, a *admins.Admin, invitedBy string) error {
	token, err := admins.CreateToken(ctx, idb, a, admins.TokenInvitation, a.Email, m.now())
	if err != nil {
		return err
	}
	role := ""
	if a.Role != nil {
		role = a.Role.Name
	}
	_, err = m.send(ctx, idb, set, []draft{{
		kind: KindAdminInvitation, toAddress: a.Email, toName: a.Name,
		subject: fmt.Sprintf("You are invited to %s as %s", set.AppName, role),
		data:    adminInvitationData{AppName: set.AppName, Name: a.Name, InvitedBy: invitedBy, Role: role, Link: m.link(PathAdminInvitation, token)},
	}})
	if err != nil {
		return fmt.Errorf("admin invitation: %w", err)
	}
	return nil
}

// AdminPasswordReset sends a a link to /admin/password/reset/{token},
// valid 60 minutes: subject "Reset your password".
func (m *Mailer) AdminPasswordReset(ctx context.Context, idb bun.IDB, set *settings.Values, a *admins.Admin) error {
	token, err := admins.CreateToken(ctx, idb, a, admins.TokenPasswordReset, a.Email, m.now())
	if err != nil {
		return err
	}
	_, err = m.send(ctx, idb, set, []draft{{
		kind: KindAdminPasswordReset, toAddress: a.Email, toName: a.Name, subject: "Reset your console password",
		data: passwordResetData{AppName: set.AppName, Name: a.Name, Link: m.link(PathAdminPasswordReset, token)},
	}})
	if err != nil {
		return fmt.Errorf("admin password reset: %w", err)
	}
	return nil
}

// AdminEmailConfirmation sends the new address of an email change a link
// to /admin/account/email/confirm/{token}, valid 24 hours; the address
// changes when it is opened.
func (m *Mailer) AdminEmailConfirmation(ctx context.Context, idb bun.IDB, set *settings.Values, a *admins.Admin, newEmail string) error {
	token, err := admins.CreateToken(ctx, idb, a, admins.TokenEmailChange, newEmail, m.now())
	if err != nil {
		return err
	}
	_, err = m.send(ctx, idb, set, []draft{{
		kind: KindAdminEmailConfirmation, toAddress: newEmail, toName: a.Name, subject: "Confirm your new email address",
		data: emailConfirmationData{AppName: set.AppName, Name: a.Name, Email: newEmail, Link: m.link(PathAdminEmailConfirm, token)},
	}})
	if err != nil {
		return fmt.Errorf("admin email confirmation: %w", err)
	}
	return nil
}

// AdminEmailChanged tells an admin's previous address that the account's
// email is now newEmail.
func (m *Mailer) AdminEmailChanged(ctx context.Context, idb bun.IDB, set *settings.Values, a *admins.Admin, oldEmail, newEmail string) error {
	_, err := m.send(ctx, idb, set, []draft{{
		kind: KindEmailChanged, toAddress: oldEmail, toName: a.Name, subject: "Your email address was changed",
		data: emailChangedData{AppName: set.AppName, Name: a.Name, OldEmail: oldEmail, NewEmail: newEmail,
			ResetLink: m.link(PathAdminForgot)},
	}})
	if err != nil {
		return fmt.Errorf("admin email changed notice: %w", err)
	}
	return nil
}
