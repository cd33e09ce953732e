package admins

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/fields"
)

// Role is a set of permissions given to admins: a built-in one (Builtin
// names it; its permissions come from code) or a custom one.
type Role struct {
	bun.BaseModel `bun:"table:admin_roles,alias:r"`

	ID          int64     `bun:"id,pk,autoincrement"`
	Builtin     *string   `bun:"builtin"`
	Name        string    `bun:"name"`
	Description string    `bun:"description"`
	Stored      []string  `bun:"permissions,array"`
	CreatedAt   time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt   time.Time `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
	// Admins counts the role's admins (List fills it).
	Admins int `bun:"admins,scanonly"`
}

// IsBuiltin reports whether the role is one of the four built-in roles,
// which cannot be changed or deleted.
func (r *Role) IsBuiltin() bool { return r.Builtin != nil }

// Key is the built-in role's key, "" for a custom role.
func (r *Role) Key() string {
	if r.Builtin == nil {
		return ""
	}
	return *r.Builtin
}

// IsOwner reports whether the role is the built-in Owner.
func (r *Role) IsOwner() bool { return r.Key() == RoleOwner }

// Permissions is what the role may do.
func (r *Role) Permissions() []Permission {
	if r.Builtin != nil {
		return builtinPermissions(*r.Builtin)
	}
	out := make([]Permission, 0, len(r.Stored))
	for _, p := range r.Stored {
		if ValidPermission(Permission(p)) {
			out = append(out, Permission(p))
		}
	}
	return out
}

// Can reports whether the role has p.
func (r *Role) Can(p Permission) bool {
	if r == nil {
		return false
	}
	return slices.Contains(r.Permissions(), p)
}

var (
	// ErrRoleNotFound is returned for an unknown role id or key.
	ErrRoleNotFound = errkind.New(errkind.NotFound, "role not found")
	// ErrRoleBuiltin is returned when a built-in role is to be changed.
	ErrRoleBuiltin = errors.New("built-in roles cannot be changed")
	// ErrRoleInUse is returned when a role to delete still has admins.
	ErrRoleInUse = errors.New("the role still has admins")
)

// GetRole returns the role with id.
func GetRole(ctx context.Context, idb bun.IDB, id int64) (*Role, error) {
	r := new(Role)
	err := idb.NewSelect().Model(r).Where("r.id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRoleNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get role %d: %w", id, err)
	}
	return r, nil
}

// BuiltinRole returns the built-in role with key (RoleOwner...).
func BuiltinRole(ctx context.Context, idb bun.IDB, key string) (*Role, error) {
	r := new(Role)
	err := idb.NewSelect().Model(r).Where("r.builtin = ?", key).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRoleNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get role %s: %w", key, err)
	}
	return r, nil
}

// RoleByName returns the role named name (any case) or whose built-in key
// is name ("read_only", "Read-only").
func RoleByName(ctx context.Context, idb bun.IDB, name string) (*Role, error) {
	name = strings.TrimSpace(name)
	r := new(Role)
	err := idb.NewSelect().Model(r).Where("r.name = ? OR r.builtin = ?", name, strings.ToLower(strings.ReplaceAll(name, "-", "_"))).
		OrderExpr("r.builtin IS NULL").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrRoleNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get role %q: %w", name, err)
	}
	return r, nil
}

// ListRoles returns every role, built-in ones first (most powerful
// first), then custom ones by name, each with its number of admins.
func ListRoles(ctx context.Context, idb bun.IDB) ([]Role, error) {
	var out []Role
	err := idb.NewSelect().Model(&out).
		ColumnExpr("r.*").
		ColumnExpr("(SELECT count(*) FROM admins a WHERE a.role_id = r.id) AS admins").
		OrderExpr("r.builtin IS NULL, array_position(ARRAY['owner','administrator','support','read_only'], r.builtin), r.name").
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return out, nil
}

// RoleParams is a custom role's name, description and permissions.
type RoleParams struct {
	Name        string
	Description string
	Permissions []string
}

const maxDescriptionLength = 500

func (p *RoleParams) check() ([]string, error) {
	p.Name, p.Description = strings.TrimSpace(p.Name), strings.TrimSpace(p.Description)
	var verr fields.Error
	switch {
	case p.Name == "":
		verr.Add("name", "The name is required.")
	case utf8.RuneCountInString(p.Name) > 100:
		verr.Add("name", "The name must not be longer than 100 characters.")
	}
	if utf8.RuneCountInString(p.Description) > maxDescriptionLength {
		verr.Add("description", fmt.Sprintf("The description must not be longer than %d characters.", maxDescriptionLength))
	}
	var perms []string
	for _, p := range p.Permissions {
		if !ValidPermission(Permission(p)) {
			verr.Add("permissions", "Choose permissions from the list.")
			break
		}
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	if len(perms) == 0 && !verr.Has("permissions") {
		verr.Add("permissions", "Choose at least one permission.")
	}
	return perms, verr.Err()
}

// CreateRole stores a custom role and logs it.
func CreateRole(ctx context.Context, idb bun.IDB, by audit.Source, p RoleParams) (*Role, error) {
	perms, err := p.check()
	if err != nil {
		return nil, err
	}
	r := &Role{Name: p.Name, Description: p.Description, Stored: perms}
	if _, err := idb.NewInsert().Model(r).Returning("*").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return nil, fields.New("name", "A role with this name already exists.")
		}
		return nil, fmt.Errorf("create role: %w", err)
	}
	return r, logAdmin(ctx, idb, by, "role.created", nil, fmt.Sprintf("Role %s created with %s.", r.Name, plural(len(perms), "permission")), map[string]any{"permissions": perms})
}

// UpdateRole changes a custom role; its admins have the new permissions
// from their next request.
func UpdateRole(ctx context.Context, idb bun.IDB, by audit.Source, id int64, p RoleParams) (*Role, error) {
	r, err := GetRole(ctx, idb, id)
	if err != nil {
		return nil, err
	}
	if r.IsBuiltin() {
		return nil, ErrRoleBuiltin
	}
	perms, err := p.check()
	if err != nil {
		return nil, err
	}
	r.Name, r.Description, r.Stored = p.Name, p.Description, perms
	_, err = idb.NewUpdate().Model(r).Column("name", "description", "permissions").Set("updated_at = now()").WherePK().Exec(ctx)
	if isUniqueViolation(err) {
		return nil, fields.New("name", "A role with this name already exists.")
	}
	if err != nil {
		return nil, fmt.Errorf("update role %d: %w", id, err)
	}
	return r, logAdmin(ctx, idb, by, "role.updated", nil, fmt.Sprintf("Role %s updated (%s).", r.Name, plural(len(perms), "permission")), map[string]any{"permissions": perms})
}

// DeleteRole deletes a custom role that no admin has.
func DeleteRole(ctx context.Context, idb bun.IDB, by audit.Source, id int64) error {
	r, err := GetRole(ctx, idb, id)
	if err != nil {
		return err
	}
	if r.IsBuiltin() {
		return ErrRoleBuiltin
	}
	used, err := idb.NewSelect().Model((*Admin)(nil)).Where("role_id = ?", id).Exists(ctx)
	if err != nil {
		return fmt.Errorf("delete role %d: %w", id, err)
	}
	if used {
		return ErrRoleInUse
	}
	if _, err := idb.NewDelete().Model(r).WherePK().Exec(ctx); err != nil {
		if isForeignKeyViolation(err) {
			return ErrRoleInUse
		}
		return fmt.Errorf("delete role %d: %w", id, err)
	}
	return logAdmin(ctx, idb, by, "role.deleted", nil, fmt.Sprintf("Role %s deleted.", r.Name), nil)
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
