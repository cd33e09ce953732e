package admins

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"

	"github.com/uptrace/bun"
)

// firstAdminLockKey serialises EnsureFirst across nodes starting together
// ("LICADMIN" in ASCII, as a number).
const firstAdminLockKey = 0x4c494341444d494e

// FirstAdminName is the name given to the account EnsureFirst creates.
const FirstAdminName = "Administrator"

// Letters and digits without look-alikes (0/O, 1/l/I), since the password is
// read off a terminal and typed by hand.
const passwordAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

const firstPasswordLength = 20

// EnsureFirst creates the first administrator, named "Administrator", with
// email and a random 20-character password, when there is no admin at all.
// It returns the password and created=true only when it created the account.
// Nodes starting at the same time take turns on an advisory lock, so at most
// one account is created.
func EnsureFirst(ctx context.Context, idb bun.IDB, email string) (password string, created bool, err error) {
	// Every start of every node asks, and nearly always there is an
	// admin: one query tells, without the transaction and its lock, which
	// only keep two nodes from both creating the first.
	var exists bool
	if err := idb.NewRaw("SELECT EXISTS (SELECT 1 FROM admins)").Scan(ctx, &exists); err != nil {
		return "", false, fmt.Errorf("ensure first admin: %w", err)
	}
	if exists {
		return "", false, nil
	}
	err = idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(?)", int64(firstAdminLockKey)); err != nil {
			return fmt.Errorf("take lock: %w", err)
		}
		n, err := Count(ctx, tx)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		pw, err := randomPassword(firstPasswordLength)
		if err != nil {
			return err
		}
		if _, err := Create(ctx, tx, FirstAdminName, email, pw); err != nil {
			return err
		}
		password, created = pw, true
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("ensure first admin: %w", err)
	}
	return password, created, nil
}

func randomPassword(n int) (string, error) {
	b := make([]byte, n)
	limit := big.NewInt(int64(len(passwordAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		b[i] = passwordAlphabet[k.Int64()]
	}
	return string(b), nil
}
