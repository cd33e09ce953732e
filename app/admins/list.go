package admins

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/listing"
)

// Row is one line of the admin users list: the account, its role and
// whether two-factor sign-in is on.
type Row struct {
	Admin     `bun:",extend"`
	TwoFactor bool `bun:"two_factor,scanonly"`
}

// Filter narrows the users list.
type Filter struct {
	Search string // name or email contains
	RoleID int64
	Status string // StatusActive, StatusInvited, StatusDisabled or ""
}

var adminSorts = listing.Sorts{
	"name": "admin.name", "email": "admin.email", "last_login_at": "admin.last_login_at", "created_at": "admin.created_at",
}

// List returns a page of admins by f, sorted by sort ("name", "-last_login_at"…;
// newest first by default), and the total.
func List(ctx context.Context, idb bun.IDB, f Filter, sort string, page listing.Page) ([]Row, int, error) {
	var out []Row
	q := idb.NewSelect().Model(&out).Relation("Role").
		ColumnExpr("EXISTS (SELECT 1 FROM two_factor tf WHERE tf.admin_id = admin.id AND tf.confirmed_at IS NOT NULL) AS two_factor")
	if f.Search != "" {
		p := listing.Contains(f.Search)
		q = q.Where("(admin.name ILIKE ? OR admin.email::text ILIKE ?)", p, p)
	}
	if f.RoleID != 0 {
		q = q.Where("admin.role_id = ?", f.RoleID)
	}
	switch f.Status {
	case StatusDisabled:
		q = q.Where("admin.disabled_at IS NOT NULL")
	case StatusInvited:
		q = q.Where("admin.disabled_at IS NULL AND admin.password_hash IS NULL")
	case StatusActive:
		q = q.Where("admin.disabled_at IS NULL AND admin.password_hash IS NOT NULL")
	}
	q = page.Apply(listing.Order(q, sort, adminSorts, "admin.created_at", "admin.id"))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list admins: %w", err)
	}
	return out, int(total), nil
}
