package licensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/fields"
)

// startClockSQL starts an expiry clock that waits for the first verify
// (docs/licensing.md#expiry-clock). It is conditional, by primary key: of
// verifies racing on any node one starts the clock and the others change
// nothing. Verify runs it only when the state it read (cached or not) says
// the clock waits; the licenses trigger then drops every node's cached
// state, so later verifies never run it again: once per license, not per
// verify.
const startClockSQL = `UPDATE licenses SET expires_at = ?, expiry_started_at = ?, updated_at = ?
	WHERE id = ? AND expires_at IS NULL AND expiry_start = 'first_verify' AND expiry_days = ?
	RETURNING id`

// startClockAtVerify starts license id's clock at now for days, and in the
// same transaction logs it and hands the license to the license.updated
// hook. It returns the license's expires_at: the new one, or, when another
// verify started the clock first (or the license changed meanwhile), the
// stored one.
func (s *Service) startClockAtVerify(ctx context.Context, idb bun.IDB, id int64, days int, caller Caller, now time.Time) (*time.Time, error) {
	expires := fields.AddDays(now, days)
	var out *time.Time
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var started int64
		err := tx.QueryRowContext(ctx, startClockSQL, expires, now, now, id, days).Scan(&started)
		if errors.Is(err, sql.ErrNoRows) {
			var current struct {
				ExpiresAt *time.Time `bun:"expires_at"`
			}
			if err := tx.NewSelect().Table("licenses").Column("expires_at").Where("id = ?", id).Scan(ctx, &current); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("expiry of license %d: %w", id, err)
			}
			out = current.ExpiresAt
			return nil
		}
		if err != nil {
			return fmt.Errorf("start expiry clock of license %d: %w", id, err)
		}
		out = &expires
		l, err := Get(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{
			Type: "license.expiry_started", Actor: caller.Key, IP: caller.IP,
			Subject: &audit.Subject{Type: audit.SubjectLicense, ID: l.ID},
			Message: fmt.Sprintf("Expiry clock of license %s started at its first verify: expires %s.", l.LicenseCode, expires.UTC().Format(time.DateOnly)),
		}); err != nil {
			return err
		}
		return s.hooks.licenseUpdated(ctx, tx, l, []string{"expires_at", "expiry_started_at"})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
