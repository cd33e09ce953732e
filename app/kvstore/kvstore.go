// Package kvstore is a key/value store over the kv_store table, so sessions,
// CSRF tokens and other short-lived state are shared by every node. Store has
// the method set of fiber.Storage without importing Fiber (domain packages
// must not; app/web asserts the fit). Expiry is computed on the database
// clock, so nodes with skewed clocks agree; a periodic job calls Prune to
// delete expired rows.
package kvstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Store keeps keys under a prefix, so several users of the table (admin
// sessions, customer sessions, CAPTCHA answers) cannot collide and Reset
// clears only its own keys.
type Store struct {
	db     bun.IDB
	prefix string
}

// New returns a store over db's kv_store table whose keys are prefixed with
// prefix (for example "admin-session:").
func New(db bun.IDB, prefix string) *Store {
	return &Store{db: db, prefix: prefix}
}

// GetWithContext returns the value of key, or nil, nil when it is missing or
// expired.
func (s *Store) GetWithContext(ctx context.Context, key string) ([]byte, error) {
	if key == "" {
		return nil, nil
	}
	var val []byte
	err := s.db.QueryRowContext(ctx,
		`SELECT value FROM kv_store WHERE key = ? AND (expires_at IS NULL OR expires_at > now())`,
		s.prefix+key).Scan(&val)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kvstore: get: %w", err)
	}
	return val, nil
}

// Get is GetWithContext with a background context.
func (s *Store) Get(key string) ([]byte, error) {
	return s.GetWithContext(context.Background(), key)
}

// SetWithContext stores val under key for exp (0 means no expiry),
// replacing any previous value. An empty key or value is ignored, as the
// fiber.Storage contract asks.
func (s *Store) SetWithContext(ctx context.Context, key string, val []byte, exp time.Duration) error {
	if key == "" || len(val) == 0 {
		return nil
	}
	var expires any // NULL: never expires
	if exp > 0 {
		expires = exp.Microseconds()
	}
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO kv_store (key, value, expires_at)
		 VALUES (?, ?, now() + make_interval(secs => ?::bigint / 1e6))
		 ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		s.prefix+key, val, expires)
	if err != nil {
		return fmt.Errorf("kvstore: set: %w", err)
	}
	return nil
}

// Set is SetWithContext with a background context.
func (s *Store) Set(key string, val []byte, exp time.Duration) error {
	return s.SetWithContext(context.Background(), key, val, exp)
}

// DeleteWithContext removes key; a missing key is not an error.
func (s *Store) DeleteWithContext(ctx context.Context, key string) error {
	if key == "" {
		return nil
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM kv_store WHERE key = ?`, s.prefix+key); err != nil {
		return fmt.Errorf("kvstore: delete: %w", err)
	}
	return nil
}

// Delete is DeleteWithContext with a background context.
func (s *Store) Delete(key string) error {
	return s.DeleteWithContext(context.Background(), key)
}

// ResetWithContext deletes every key under this store's prefix (every key
// in the table when the prefix is empty).
func (s *Store) ResetWithContext(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM kv_store WHERE left(key, length(?)) = ?`, s.prefix, s.prefix); err != nil {
		return fmt.Errorf("kvstore: reset: %w", err)
	}
	return nil
}

// Reset is ResetWithContext with a background context.
func (s *Store) Reset() error {
	return s.ResetWithContext(context.Background())
}

// Close does nothing: the database handle belongs to the caller.
func (s *Store) Close() error { return nil }

// Prune deletes every expired row of the table, under any prefix, and
// returns how many it deleted. Expired rows are dead whoever wrote them, so
// one periodic job cleans the whole table (through any Store).
func (s *Store) Prune(ctx context.Context) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM kv_store WHERE expires_at <= now()`)
	if err != nil {
		return 0, fmt.Errorf("kvstore: prune: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("kvstore: prune: %w", err)
	}
	return n, nil
}
