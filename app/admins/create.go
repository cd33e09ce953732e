package admins

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
	"github.com/licensor/licensor/app/passwords"
)

// Field limits. The password maximum only bounds hashing work; it is far
// above any passphrase a person types.
const (
	MinPasswordLength = 10
	maxPasswordLength = 1024
	maxNameLength     = 255
	maxEmailLength    = 254
)

// Create validates and stores a new admin with the Owner role (the
// command line's and the first admin's account). It returns a
// *fields.Error for bad input and ErrEmailTaken when the email is in use
// (compared case-insensitively).
func Create(ctx context.Context, idb bun.IDB, name, email, password string) (*Admin, error) {
	owner, err := BuiltinRole(ctx, idb, RoleOwner)
	if err != nil {
		return nil, err
	}
	return CreateWithRole(ctx, idb, name, email, password, owner.ID)
}

// CreateWithRole is Create with the role roleID.
func CreateWithRole(ctx context.Context, idb bun.IDB, name, email, password string, roleID int64) (*Admin, error) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	verr := validate(name, email)
	checkPasswordLength(verr, password)
	if err := verr.Err(); err != nil {
		return nil, err
	}
	hash, err := passwords.Hash(password)
	if err != nil {
		return nil, fmt.Errorf("create admin: %w", err)
	}
	a := &Admin{Name: name, Email: email, PasswordHash: hash, RoleID: roleID}
	if err := insert(ctx, idb, a); err != nil {
		return nil, err
	}
	return Get(ctx, idb, a.ID)
}

// Invite creates an admin without a password, who cannot sign in until
// they choose one through the invitation link (mail.AdminInvitation
// makes and sends it; AcceptInvitation uses it). Logged as by.
func Invite(ctx context.Context, idb bun.IDB, by audit.Source, name, email string, roleID int64, now time.Time) (*Admin, error) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	verr := validate(name, email)
	if roleID == 0 {
		verr.Add("role_id", "Choose a role.")
	} else if _, err := GetRole(ctx, idb, roleID); errors.Is(err, ErrRoleNotFound) {
		verr.Add("role_id", "Choose a role.")
	} else if err != nil {
		return nil, err
	}
	if err := verr.Err(); err != nil {
		return nil, err
	}
	a := &Admin{Name: name, Email: email, RoleID: roleID, InvitedAt: &now}
	if err := insert(ctx, idb, a); err != nil {
		return nil, err
	}
	a, err := Get(ctx, idb, a.ID)
	if err != nil {
		return nil, err
	}
	return a, logAdmin(ctx, idb, by, "admin.invited", a,
		fmt.Sprintf("Admin %s <%s> invited as %s.", a.Name, a.Email, a.Role.Name), nil)
}

func insert(ctx context.Context, idb bun.IDB, a *Admin) error {
	if _, err := idb.NewInsert().Model(a).Returning("*").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return ErrEmailTaken
		}
		return fmt.Errorf("create admin %s: %w", a.Email, err)
	}
	return nil
}

func validate(name, email string) *fields.Error {
	verr := &fields.Error{}
	switch {
	case name == "":
		verr.Add("name", "The name is required.")
	case utf8.RuneCountInString(name) > maxNameLength:
		verr.Add("name", fmt.Sprintf("The name must not be longer than %d characters.", maxNameLength))
	}
	if !validEmail(email) {
		verr.Add("email", "Enter a valid email address.")
	}
	return verr
}

func checkPasswordLength(verr *fields.Error, password string) {
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLength:
		verr.Add("password", fmt.Sprintf("The password must be at least %d characters.", MinPasswordLength))
	case len(password) > maxPasswordLength:
		verr.Add("password", fmt.Sprintf("The password must not be longer than %d characters.", maxPasswordLength))
	}
}

// CheckPassword adds to verr what is wrong with a password an admin
// chooses in the console: too short or long, common, or made of the
// admin's name or email.
func CheckPassword(verr *fields.Error, password string, a *Admin) {
	checkPasswordLength(verr, password)
	if verr.Has("password") {
		return
	}
	if msg := passwords.Weakness(password, a.Email, a.Name); msg != "" {
		verr.Add("password", msg)
	}
}

// validEmail accepts a bare address (no display name, no angle brackets).
func validEmail(email string) bool {
	if email == "" || len(email) > maxEmailLength {
		return false
	}
	addr, err := mail.ParseAddress(email)
	return err == nil && addr.Address == email && addr.Name == ""
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

func isForeignKeyViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503"
}

// Record writes an activity-log line of type typ about admin a (nil:
// none), for the account's changes kept elsewhere (two-factor sign-in,
// sessions).
func Record(ctx context.Context, idb bun.IDB, by audit.Source, typ string, a *Admin, msg string) error {
	return logAdmin(ctx, idb, by, typ, a, msg, nil)
}

// logAdmin writes an activity-log line about admin a (nil: none).
func logAdmin(ctx context.Context, idb bun.IDB, by audit.Source, typ string, a *Admin, msg string, data map[string]any) error {
	e := audit.Entry{Type: typ, Actor: by.Actor, IP: by.IP, Message: msg, Data: data}
	if a != nil {
		e.Subject = &audit.Subject{Type: audit.SubjectAdmin, ID: a.ID}
	}
	return audit.Record(ctx, idb, e)
}
