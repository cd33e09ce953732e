// Package admins owns admin accounts (table admins), their roles and
// permissions (admin_roles), their single-use links (admin_tokens) and
// their sign-in history (admin_logins): creation, invitation, changes with
// their activity-log lines, authentication, and the first account created
// at start-up.
package admins

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
)

// Admin is an account of the admin console.
type Admin struct {
	bun.BaseModel `bun:"table:admins"`

	ID    int64  `bun:"id,pk,autoincrement"`
	Name  string `bun:"name"`
	Email string `bun:"email"`
	// PasswordHash is empty for an invited admin who has not set one.
	PasswordHash string     `bun:"password_hash,nullzero"`
	RoleID       int64      `bun:"role_id"`
	Role         *Role      `bun:"rel:belongs-to,join:role_id=id"`
	LastLoginAt  *time.Time `bun:"last_login_at"`
	InvitedAt    *time.Time `bun:"invited_at"`
	DisabledAt   *time.Time `bun:"disabled_at"`
	AvatarPath   *string    `bun:"avatar_path"`
	CreatedAt    time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt    time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Statuses of an admin account.
const (
	StatusActive   = "active"
	StatusInvited  = "invited"
	StatusDisabled = "disabled"
)

// Status is the account's state: disabled, invited (no password set
// yet), or active.
func (a *Admin) Status() string {
	switch {
	case a.DisabledAt != nil:
		return StatusDisabled
	case a.PasswordHash == "":
		return StatusInvited
	}
	return StatusActive
}

// Can reports whether the admin's role has p (Get loads the role).
func (a *Admin) Can(p Permission) bool { return a != nil && a.Role.Can(p) }

// IsOwner reports whether the admin has the built-in Owner role.
func (a *Admin) IsOwner() bool { return a != nil && a.Role != nil && a.Role.IsOwner() }

// HasAvatar reports whether the admin uploaded a picture.
func (a *Admin) HasAvatar() bool { return a.AvatarPath != nil && *a.AvatarPath != "" }

var (
	// ErrNotFound is returned when no admin has the requested id.
	ErrNotFound = errkind.New(errkind.NotFound, "admin not found")
	// ErrEmailTaken is returned when another admin has the email, in any case.
	ErrEmailTaken = errors.New("an admin with this email already exists")
	// ErrInvalidCredentials is returned for an unknown email and for a wrong
	// password alike, so callers cannot reveal which one it was.
	ErrInvalidCredentials = errors.New("these credentials do not match our records")
)

// Get returns the admin with id and its role, or ErrNotFound.
func Get(ctx context.Context, idb bun.IDB, id int64) (*Admin, error) {
	a := new(Admin)
	err := idb.NewSelect().Model(a).Relation("Role").Where("admin.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get admin %d: %w", id, err)
	}
	return a, nil
}

// Count returns the number of admin accounts.
func Count(ctx context.Context, idb bun.IDB) (int, error) {
	n, err := idb.NewSelect().Model((*Admin)(nil)).Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("count admins: %w", err)
	}
	return int(n), nil
}

// ByEmail finds an admin by email; the column is citext, so the match
// ignores case.
func ByEmail(ctx context.Context, idb bun.IDB, email string) (*Admin, error) {
	return getByEmail(ctx, idb, strings.TrimSpace(email))
}

func getByEmail(ctx context.Context, idb bun.IDB, email string) (*Admin, error) {
	a := new(Admin)
	err := idb.NewSelect().Model(a).Relation("Role").Where("admin.email = ?", email).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get admin by email: %w", err)
	}
	return a, nil
}
