package admins

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
	"github.com/licensor/licensor/app/sessions"
)

var (
	// ErrLastOwner is returned when a change would leave no active owner.
	ErrLastOwner = errors.New("the last owner cannot lose the Owner role, be disabled or be deleted")
	// ErrSelf is returned when an admin tries to disable or delete their
	// own account from the users page.
	ErrSelf = errors.New("you cannot do this to your own account")
)

// Changes are an owner's edit of another admin (or of themselves) on the
// users page: the fields that are Set change.
type Changes struct {
	Name   fields.Optional[string]
	Email  fields.Optional[string]
	RoleID fields.Optional[int64]
}

// Update applies c to admin id. A new email ends every session of the
// admin but keep (the editor's own, when they edit themselves); the last
// active owner keeps the Owner role. Logged as by.
func Update(ctx context.Context, idb bun.IDB, by audit.Source, id int64, c Changes, keep int64) (*Admin, error) {
	a, err := Get(ctx, idb, id)
	if err != nil {
		return nil, err
	}
	name, email := a.Name, a.Email
	if c.Name.Set {
		name = strings.TrimSpace(c.Name.Value)
	}
	if c.Email.Set {
		email = strings.TrimSpace(c.Email.Value)
	}
	verr := validate(name, email)
	var role *Role
	if c.RoleID.Set && c.RoleID.Value != a.RoleID {
		if role, err = GetRole(ctx, idb, c.RoleID.Value); errors.Is(err, ErrRoleNotFound) {
			verr.Add("role_id", "Choose a role.")
		} else if err != nil {
			return nil, err
		}
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	if role != nil && a.IsOwner() && !role.IsOwner() {
		if err := keepAnOwner(ctx, idb, a); err != nil {
			return nil, err
		}
	}
	var changed []string
	emailChanged := !strings.EqualFold(email, a.Email)
	if name != a.Name {
		changed = append(changed, "name")
	}
	if email != a.Email {
		changed = append(changed, "email")
	}
	if role != nil {
		changed = append(changed, "role")
	}
	if len(changed) == 0 {
		return a, nil
	}
	_, err = idb.NewUpdate().Model((*Admin)(nil)).Set("name = ?, email = ?", name, email).
		Apply(func(q *bun.UpdateQuery) *bun.UpdateQuery {
			if role != nil {
				q = q.Set("role_id = ?", role.ID)
			}
			return q
		}).Set("updated_at = now()").Where("id = ?", id).Exec(ctx)
	if isUniqueViolation(err) {
		return nil, fields.New("email", "Another admin has this email address.")
	}
	if err != nil {
		return nil, fmt.Errorf("update admin %d: %w", id, err)
	}
	if emailChanged {
		if _, err := sessions.EndAll(ctx, idb, sessions.AdminOwner(id), keep); err != nil {
			return nil, err
		}
	}
	msg := fmt.Sprintf("Admin %s <%s> updated (%s).", name, email, strings.Join(changed, ", "))
	data := map[string]any{"changed": changed}
	if role != nil {
		msg = fmt.Sprintf("Admin %s <%s> updated (%s): role %s → %s.", name, email, strings.Join(changed, ", "), a.Role.Name, role.Name)
	}
	if emailChanged {
		data["old_email"] = a.Email
	}
	if err := logAdmin(ctx, idb, by, "admin.updated", a, msg, data); err != nil {
		return nil, err
	}
	return Get(ctx, idb, id)
}

// SetName changes the admin's own name (the account page).
func SetName(ctx context.Context, idb bun.IDB, by audit.Source, id int64, name string) (*Admin, error) {
	return Update(ctx, idb, by, id, Changes{Name: fields.Some(name)}, 0)
}

// SetPassword sets admin id's password after CheckPassword's rules, ends
// every other session (all but keep), cancels outstanding reset links,
// and logs it with what (e.g. "changed", "reset by link").
func SetPassword(ctx context.Context, idb bun.IDB, by audit.Source, id int64, password string, keep int64, what string) error {
	a, err := Get(ctx, idb, id)
	if err != nil {
		return err
	}
	var verr fields.Error
	CheckPassword(&verr, password, a)
	if err := verr.Err(); err != nil {
		return err
	}
	hash, err := passwords.Hash(password)
	if err != nil {
		return fmt.Errorf("set admin password: %w", err)
	}
	if _, err := idb.NewUpdate().Model((*Admin)(nil)).Set("password_hash = ?", hash).Set("updated_at = now()").Where("id = ?", id).Exec(ctx); err != nil {
		return fmt.Errorf("set admin password: %w", err)
	}
	if _, err := sessions.EndAll(ctx, idb, sessions.AdminOwner(id), keep); err != nil {
		return err
	}
	if err := cancelTokens(ctx, idb, id, time.Now(), TokenPasswordReset); err != nil {
		return err
	}
	return logAdmin(ctx, idb, by, "admin.password_changed", a, fmt.Sprintf("Password of admin %s <%s> %s; other sessions signed out.", a.Name, a.Email, what), nil)
}

// AcceptInvitation sets the first password of the invited admin whose
// invitation token this is, using the token. by names the IP; the actor
// is the admin.
func AcceptInvitation(ctx context.Context, idb bun.IDB, ip, token, password string, now time.Time) (*Admin, error) {
	t, err := PeekToken(ctx, idb, token, TokenInvitation, now)
	if err != nil {
		return nil, err
	}
	a, err := Get(ctx, idb, t.AdminID)
	if err != nil {
		return nil, err
	}
	var verr fields.Error
	CheckPassword(&verr, password, a)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	if _, err := ConsumeToken(ctx, idb, token, TokenInvitation, now); err != nil {
		return nil, err
	}
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, ID: &a.ID, Name: a.Name}, IP: ip}
	if err := SetPassword(ctx, idb, by, a.ID, password, 0, "set from the invitation"); err != nil {
		return nil, err
	}
	return Get(ctx, idb, a.ID)
}

// ResetPassword sets a password through a reset link (which it uses).
func ResetPassword(ctx context.Context, idb bun.IDB, ip, token, password string, now time.Time) (*Admin, error) {
	t, err := PeekToken(ctx, idb, token, TokenPasswordReset, now)
	if err != nil {
		return nil, err
	}
	a, err := Get(ctx, idb, t.AdminID)
	if err != nil {
		return nil, err
	}
	if a.Status() != StatusActive {
		return nil, ErrTokenInvalid
	}
	var verr fields.Error
	CheckPassword(&verr, password, a)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	if _, err := ConsumeToken(ctx, idb, token, TokenPasswordReset, now); err != nil {
		return nil, err
	}
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, ID: &a.ID, Name: a.Name}, IP: ip}
	return a, SetPassword(ctx, idb, by, a.ID, password, 0, "reset by link")
}

// ConfirmEmail applies an email change whose link was sent to the new
// address, ending every session of the admin but keep. It returns the
// admin and the old address (to be told).
func ConfirmEmail(ctx context.Context, idb bun.IDB, ip, token string, keep int64, now time.Time) (*Admin, string, error) {
	t, err := ConsumeToken(ctx, idb, token, TokenEmailChange, now)
	if err != nil {
		return nil, "", err
	}
	a, err := Get(ctx, idb, t.AdminID)
	if err != nil {
		return nil, "", err
	}
	old := a.Email
	by := audit.Source{Actor: audit.Actor{Type: audit.ActorAdmin, ID: &a.ID, Name: a.Name}, IP: ip}
	a, err = Update(ctx, idb, by, a.ID, Changes{Email: fields.Some(t.Email)}, keep)
	if err != nil {
		var verr *fields.Error
		if errors.As(err, &verr) || errors.Is(err, ErrEmailTaken) {
			return nil, "", ErrTokenInvalid
		}
		return nil, "", err
	}
	return a, old, nil
}

// Disable stops admin id from signing in and signs them out everywhere.
func Disable(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (*Admin, error) {
	a, err := Get(ctx, idb, id)
	if err != nil {
		return nil, err
	}
	if by.Actor.ID != nil && *by.Actor.ID == id {
		return nil, ErrSelf
	}
	if a.DisabledAt != nil {
		return a, nil
	}
	if a.IsOwner() {
		if err := keepAnOwner(ctx, idb, a); err != nil {
			return nil, err
		}
	}
	if _, err := idb.NewUpdate().Model((*Admin)(nil)).Set("disabled_at = now(), updated_at = now()").Where("id = ?", id).Exec(ctx); err != nil {
		return nil, fmt.Errorf("disable admin %d: %w", id, err)
	}
	if _, err := sessions.EndAll(ctx, idb, sessions.AdminOwner(id), 0); err != nil {
		return nil, err
	}
	if err := logAdmin(ctx, idb, by, "admin.disabled", a, fmt.Sprintf("Admin %s <%s> disabled and signed out everywhere.", a.Name, a.Email), nil); err != nil {
		return nil, err
	}
	return Get(ctx, idb, id)
}

// Enable lets a disabled admin sign in again.
func Enable(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (*Admin, error) {
	a, err := Get(ctx, idb, id)
	if err != nil {
		return nil, err
	}
	if a.DisabledAt == nil {
		return a, nil
	}
	if _, err := idb.NewUpdate().Model((*Admin)(nil)).Set("disabled_at = NULL, updated_at = now()").Where("id = ?", id).Exec(ctx); err != nil {
		return nil, fmt.Errorf("enable admin %d: %w", id, err)
	}
	if err := logAdmin(ctx, idb, by, "admin.enabled", a, fmt.Sprintf("Admin %s <%s> enabled.", a.Name, a.Email), nil); err != nil {
		return nil, err
	}
	return Get(ctx, idb, id)
}

// Delete removes admin id (never oneself, never the last owner). The
// activity log keeps the admin's name on the lines they wrote.
func Delete(ctx context.Context, idb bun.IDB, by audit.Source, id int64) (*Admin, error) {
	a, err := Get(ctx, idb, id)
	if err != nil {
		return nil, err
	}
	if by.Actor.ID != nil && *by.Actor.ID == id {
		return nil, ErrSelf
	}
	if a.IsOwner() {
		if err := keepAnOwner(ctx, idb, a); err != nil {
			return nil, err
		}
	}
	if _, err := idb.NewDelete().Model((*Admin)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return nil, fmt.Errorf("delete admin %d: %w", id, err)
	}
	return a, logAdmin(ctx, idb, by, "admin.deleted", a, fmt.Sprintf("Admin %s <%s> deleted.", a.Name, a.Email), nil)
}

// SetAvatar records the admin's picture path ("" removes it).
func SetAvatar(ctx context.Context, idb bun.IDB, by audit.Source, a *Admin, path string) error {
	var p *string
	if path != "" {
		p = &path
	}
	if _, err := idb.NewUpdate().Model((*Admin)(nil)).Set("avatar_path = ?, updated_at = now()", p).Where("id = ?", a.ID).Exec(ctx); err != nil {
		return fmt.Errorf("set admin avatar: %w", err)
	}
	verb := "changed"
	if path == "" {
		verb = "removed"
	}
	return logAdmin(ctx, idb, by, "admin.avatar", a, fmt.Sprintf("Admin %s <%s> %s their picture.", a.Name, a.Email, verb), nil)
}

// keepAnOwner returns ErrLastOwner when a is the only active owner. The
// active owners are locked, so two owners removing each other at once
// cannot both succeed.
func keepAnOwner(ctx context.Context, idb bun.IDB, a *Admin) error {
	if a.Status() != StatusActive {
		return nil // not one of the owners that count
	}
	var ids []int64
	err := idb.NewSelect().Model((*Admin)(nil)).Column("admin.id").
		Join("JOIN admin_roles AS r ON r.id = admin.role_id").
		Where("r.builtin = ? AND admin.disabled_at IS NULL AND admin.password_hash IS NOT NULL", RoleOwner).
		For("UPDATE OF admin").Scan(ctx, &ids)
	if err != nil {
		return fmt.Errorf("count owners: %w", err)
	}
	for _, id := range ids {
		if id != a.ID {
			return nil
		}
	}
	return ErrLastOwner
}
