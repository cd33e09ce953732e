package admins

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/passwords"
)

// dummyHash is checked against when the email is unknown, so an unknown
// email costs the same argon2id work as a wrong password and response times
// do not reveal which accounts exist. It hashes a random string nobody
// knows, with the production parameters (a test keeps them in step).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$bxG5llMM32EyqjWYllsxwg$8Z1srDJ0ASibDl0B0/ijLM/mZkOiSDakmDVN/XYpTtY"

// ErrDisabled is returned by Authenticate for the right password of a
// disabled account.
var ErrDisabled = errors.New("this account is disabled")

// Authenticate returns the admin whose email and password match, or
// ErrInvalidCredentials for an unknown email, an invited account without
// a password and a wrong password alike; ErrDisabled for the right
// password of a disabled account.
// Other errors are infrastructure failures.
//
// A hash made with older parameters is upgraded on success, best effort.
func Authenticate(ctx context.Context, idb bun.IDB, email, password string) (*Admin, error) {
	email = strings.TrimSpace(email)
	a, err := getByEmail(ctx, idb, email)
	if errors.Is(err, ErrNotFound) || email == "" || (err == nil && a.PasswordHash == "") {
		_, _ = passwords.Verify(dummyHash, password)
		return nil, ErrInvalidCredentials
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate admin: %w", err)
	}
	ok, err := passwords.Verify(a.PasswordHash, password)
	if err != nil {
		return nil, fmt.Errorf("authenticate admin %d: %w", a.ID, err)
	}
	if !ok {
		return nil, ErrInvalidCredentials
	}
	if a.DisabledAt != nil {
		// Only someone who knows the password learns the account is off.
		return nil, ErrDisabled
	}
	if passwords.NeedsRehash(a.PasswordHash) {
		if hash, err := passwords.Hash(password); err == nil {
			_, err = idb.NewUpdate().Model((*Admin)(nil)).
				Set("password_hash = ?", hash).Set("updated_at = now()").
				Where("id = ?", a.ID).Exec(ctx)
			if err == nil {
				a.PasswordHash = hash
			}
		}
	}
	return a, nil
}
