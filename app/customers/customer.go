// Package customers owns customer accounts: the model, its rules (unique
// email and client ID regardless of case, generated client IDs, hashed
// passwords), and the linking rule that says which licenses are a
// customer's (linking.go).
package customers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
)

// ErrNotFound is returned when no customer matches.
var ErrNotFound = errkind.New(errkind.NotFound, "customer not found")

// Customer is a customer account.
type Customer struct {
	bun.BaseModel `bun:"table:customers,alias:c"`

	ID           int64      `bun:"id,pk,autoincrement"`
	Name         string     `bun:"name"`
	Email        string     `bun:"email"`
	PasswordHash *string    `bun:"password_hash"`
	ClientID     string     `bun:"client_id"`
	AvatarPath   *string    `bun:"avatar_path"`
	ConfirmedAt  *time.Time `bun:"confirmed_at"`
	// EmailProvenAt is when Email was proven: confirmed by its link, or
	// set by an admin, the API, an import or an order. Nil for an address
	// a self-registration gave and nobody confirmed.
	EmailProvenAt *time.Time `bun:"email_proven_at"`
	LastLoginAt   *time.Time `bun:"last_login_at"`
	CreatedAt     time.Time  `bun:"created_at,nullzero,notnull,default:current_timestamp"`
	UpdatedAt     time.Time  `bun:"updated_at,nullzero,notnull,default:current_timestamp"`
}

// Confirmed reports whether the account may sign in: its email was
// confirmed, or email_verification_required was off when it registered,
// or an admin says so.
func (c *Customer) Confirmed() bool { return c.ConfirmedAt != nil }

// EmailProven reports whether the customer's email was proven (see
// EmailProvenAt). Only a proven email links licenses (linking.go), whatever
// email_verification_required says (docs/deploy.md#licenses-linked-by-email).
func (c *Customer) EmailProven() bool { return c.EmailProvenAt != nil }

// HasPassword reports whether the account has a usable password.
func (c *Customer) HasPassword() bool { return c.PasswordHash != nil && *c.PasswordHash != "" }

// Get returns the customer with id.
func Get(ctx context.Context, idb bun.IDB, id int64) (*Customer, error) {
	return one(ctx, idb, "c.id = ?", id)
}

// ByClientID returns the customer whose client ID is clientID, ignoring case.
func ByClientID(ctx context.Context, idb bun.IDB, clientID string) (*Customer, error) {
	return one(ctx, idb, "c.client_id = ?", clientID)
}

// ByEmail returns the customer whose email is email, ignoring case.
func ByEmail(ctx context.Context, idb bun.IDB, email string) (*Customer, error) {
	return one(ctx, idb, "c.email = ?", email)
}

// ByLogin returns the customer signing in as login: an email or a client ID
// (docs/features.md#customer-portal). The email is tried first: each column is unique on its
// own, and a client ID equal to another customer's email is unlikely enough
// that the email owner winning is the right tie-break.
func ByLogin(ctx context.Context, idb bun.IDB, login string) (*Customer, error) {
	c, err := ByEmail(ctx, idb, login)
	if errors.Is(err, ErrNotFound) {
		return ByClientID(ctx, idb, login)
	}
	return c, err
}

// Filtering is the customer a list filtered by customer shows the licenses
// of: the account whose email or client ID is typed (ByLogin; its licenses
// by the linking rule), else one standing for the licenses whose
// customer_id is what was typed, which no account holds.
func Filtering(ctx context.Context, idb bun.IDB, typed string) (*Customer, error) {
	c, err := ByLogin(ctx, idb, typed)
	if errors.Is(err, ErrNotFound) {
		return &Customer{ClientID: typed}, nil
	}
	return c, err
}

// Find resolves a path reference of the internal API: a client ID, else,
// when none matches and ref is all digits, a numeric id (docs/api/internal.md).
func Find(ctx context.Context, idb bun.IDB, ref string) (*Customer, error) {
	c, err := ByClientID(ctx, idb, ref)
	if !errors.Is(err, ErrNotFound) {
		return c, err
	}
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil && id > 0 {
		return Get(ctx, idb, id)
	}
	return nil, ErrNotFound
}

func one(ctx context.Context, idb bun.IDB, where string, arg any) (*Customer, error) {
	c := new(Customer)
	if err := idb.NewSelect().Model(c).Where(where, arg).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get customer (%v): %w", arg, err)
	}
	return c, nil
}

// SetAvatar stores key (nil: none) as customer id's avatar and returns the
// key it replaces, so the caller can delete that file once the change is
// committed.
func SetAvatar(ctx context.Context, idb bun.IDB, id int64, key *string) (old *string, err error) {
	err = idb.NewRaw(`WITH prev AS (SELECT id, avatar_path FROM customers WHERE id = ? FOR UPDATE)
		UPDATE customers c SET avatar_path = ?, updated_at = now() FROM prev WHERE c.id = prev.id
		RETURNING prev.avatar_path`, id, key).Scan(ctx, &old)
	if err != nil {
		return nil, notFoundOr(err, "set customer avatar")
	}
	return old, nil
}
