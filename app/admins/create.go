package admins

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

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

// Create validates and stores a new administrator. It returns a
// *ValidationError for bad input and ErrEmailTaken when the email is in use
// (compared case-insensitively).
func Create(ctx context.Context, idb bun.IDB, name, email, password string) (*Admin, error) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	if err := validate(name, email, password); err != nil {
		return nil, err
	}
	hash, err := passwords.Hash(password)
	if err != nil {
		return nil, fmt.Errorf("create admin: %w", err)
	}
	a := &Admin{Name: name, Email: email, PasswordHash: hash, Role: RoleAdministrator}
	if _, err := idb.NewInsert().Model(a).Returning("*").Exec(ctx); err != nil {
		if isUniqueViolation(err) {
			return nil, ErrEmailTaken
		}
		return nil, fmt.Errorf("create admin %s: %w", email, err)
	}
	return a, nil
}

func validate(name, email, password string) error {
	fields := map[string]string{}
	switch {
	case name == "":
		fields["name"] = "The name is required."
	case utf8.RuneCountInString(name) > maxNameLength:
		fields["name"] = fmt.Sprintf("The name must not be longer than %d characters.", maxNameLength)
	}
	if !validEmail(email) {
		fields["email"] = "Enter a valid email address."
	}
	switch n := utf8.RuneCountInString(password); {
	case n < MinPasswordLength:
		fields["password"] = fmt.Sprintf("The password must be at least %d characters.", MinPasswordLength)
	case len(password) > maxPasswordLength:
		fields["password"] = fmt.Sprintf("The password must not be longer than %d characters.", maxPasswordLength)
	}
	if len(fields) > 0 {
		return &ValidationError{Fields: fields}
	}
	return nil
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
