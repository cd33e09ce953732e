package admins

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/sessions"
	"github.com/licensor/licensor/app/twofactor"
)

// An admin's own security changes on the account page, and an owner's on
// another admin's: each changes the account's sessions or second factor
// and logs it in the same transaction (tx), as by.

// EndSession signs a's session id out (sessions.ErrEnded when it is not
// a's or has ended).
func EndSession(ctx context.Context, tx bun.IDB, by audit.Source, a *Admin, id int64) error {
	if err := sessions.End(ctx, tx, sessions.AdminOwner(a.ID), id); err != nil {
		return err
	}
	return Record(ctx, tx, by, "admin.session_ended", a, fmt.Sprintf("Admin %s <%s> signed out one of their sessions.", a.Name, a.Email))
}

// EndOtherSessions signs every session of a but keep out and returns how
// many ended.
func EndOtherSessions(ctx context.Context, tx bun.IDB, by audit.Source, a *Admin, keep int64) (int64, error) {
	n, err := sessions.EndAll(ctx, tx, sessions.AdminOwner(a.ID), keep)
	if err != nil {
		return 0, err
	}
	return n, Record(ctx, tx, by, "admin.sessions_ended", a, fmt.Sprintf("Admin %s <%s> signed out their other sessions (%d).", a.Name, a.Email, n))
}

// SignOut signs another admin, a, out of every session but keep (by's own
// when a is by) and returns how many ended.
func SignOut(ctx context.Context, tx bun.IDB, by audit.Source, a *Admin, keep int64) (int64, error) {
	n, err := sessions.EndAll(ctx, tx, sessions.AdminOwner(a.ID), keep)
	if err != nil {
		return 0, err
	}
	return n, Record(ctx, tx, by, "admin.sessions_ended", a,
		fmt.Sprintf("Admin %s <%s> signed out of %d session(s) by %s.", a.Name, a.Email, n, by.Actor.Name))
}

// ConfirmTwoFactor turns a's two-factor sign-in on with the first code of
// the enrolment tf began, and returns the recovery codes.
func ConfirmTwoFactor(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, a *Admin, code string) ([]string, error) {
	codes, err := tf.Confirm(ctx, tx, twofactor.AdminAccount(a.ID), code)
	if err != nil {
		return nil, err
	}
	return codes, Record(ctx, tx, by, "admin.two_factor_enabled", a, fmt.Sprintf("Admin %s <%s> turned on two-factor sign-in.", a.Name, a.Email))
}

// NewRecoveryCodes replaces a's recovery codes and returns the new ones.
func NewRecoveryCodes(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, a *Admin) ([]string, error) {
	codes, err := tf.NewRecoveryCodes(ctx, tx, twofactor.AdminAccount(a.ID))
	if err != nil {
		return nil, err
	}
	return codes, Record(ctx, tx, by, "admin.recovery_codes", a, fmt.Sprintf("Admin %s <%s> made new recovery codes.", a.Name, a.Email))
}

// DisableTwoFactor turns a's own two-factor sign-in off.
func DisableTwoFactor(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, a *Admin) error {
	if _, err := tf.Disable(ctx, tx, twofactor.AdminAccount(a.ID)); err != nil {
		return err
	}
	return Record(ctx, tx, by, "admin.two_factor_disabled", a, fmt.Sprintf("Admin %s <%s> turned off two-factor sign-in.", a.Name, a.Email))
}

// ResetTwoFactor turns another admin's two-factor sign-in off (a lost
// device) and reports whether a had it; only a reset that was one is
// logged.
func ResetTwoFactor(ctx context.Context, tx bun.IDB, tf *twofactor.Service, by audit.Source, a *Admin) (bool, error) {
	had, err := tf.Disable(ctx, tx, twofactor.AdminAccount(a.ID))
	if err != nil || !had {
		return false, err
	}
	return true, Record(ctx, tx, by, "admin.two_factor_reset", a,
		fmt.Sprintf("Two-factor sign-in of admin %s <%s> reset by %s.", a.Name, a.Email, by.Actor.Name))
}

// Refusal is a console request refused because the admin's role lacks
// Permission: its method, its path (as asked) and the path as logs show
// it (LogPath, secrets in it masked).
type Refusal struct {
	Permission    Permission
	Method        string
	Path, LogPath string
}

// RecordRefusal logs r, a request of a (nil: none signed in) by, as
// access.denied.
func RecordRefusal(ctx context.Context, idb bun.IDB, by audit.Source, a *Admin, r Refusal) error {
	role := ""
	if a != nil && a.Role != nil {
		role = a.Role.Name
	}
	return audit.Record(ctx, idb, audit.Entry{
		Type: "access.denied", Actor: by.Actor, IP: by.IP,
		Message: fmt.Sprintf("%s %s refused: the role %s lacks %s.", r.Method, r.LogPath, role, r.Permission),
		Data:    map[string]any{"permission": string(r.Permission), "method": r.Method, "path": r.Path},
	})
}
