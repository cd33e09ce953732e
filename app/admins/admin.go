// Package admins owns admin accounts (table admins) and their sign-in
// history (table admin_logins): creation with validation, authentication,
// and the first account created at start-up.
package admins

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// Admin is an account of the admin console.
type Admin struct {
	bun.BaseModel `bun:"table:admins"`

	ID           int64      `bun:"id,pk,autoincrement"`
	Name         string     `bun:"name"`
	Email        string     `bun:"email"`
	PasswordHash string     `bun:"password_hash"`
	Role         string     `bun:"role"`
	LastLoginAt  *time.Time `bun:"last_login_at"`
	CreatedAt    time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt    time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// RoleAdministrator has every permission. Until roles exist (spec §2.1,
// later) every admin has it.
const RoleAdministrator = "administrator"

var (
	// ErrNotFound is returned when no admin has the requested id.
	ErrNotFound = errors.New("admin not found")
	// ErrEmailTaken is returned when another admin has the email, in any case.
	ErrEmailTaken = errors.New("an admin with this email already exists")
	// ErrInvalidCredentials is returned for an unknown email and for a wrong
	// password alike, so callers cannot reveal which one it was.
	ErrInvalidCredentials = errors.New("these credentials do not match our records")
)

// ValidationError maps field names (name, email, password) to messages.
type ValidationError struct{ Fields map[string]string }

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for f, m := range e.Fields {
		parts = append(parts, f+": "+m)
	}
	slices.Sort(parts)
	return "invalid admin: " + strings.Join(parts, "; ")
}

// Get returns the admin with id, or ErrNotFound.
func Get(ctx context.Context, idb bun.IDB, id int64) (*Admin, error) {
	a := new(Admin)
	err := idb.NewSelect().Model(a).Where("id = ?", id).Scan(ctx)
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

// getByEmail finds an admin by email; the column is citext, so the match
// ignores case.
func getByEmail(ctx context.Context, idb bun.IDB, email string) (*Admin, error) {
	a := new(Admin)
	err := idb.NewSelect().Model(a).Where("email = ?", email).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get admin by email: %w", err)
	}
	return a, nil
}
