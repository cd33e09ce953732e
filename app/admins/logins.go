package admins

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Login is one row of the admin sign-in history.
type Login struct {
	bun.BaseModel `bun:"table:admin_logins"`

	ID        int64     `bun:"id,pk,autoincrement"`
	AdminID   *int64    `bun:"admin_id"` // nil when the email matched no admin or the password was wrong
	Email     string    `bun:"email"`
	IP        string    `bun:"ip"`
	UserAgent string    `bun:"user_agent"`
	Success   bool      `bun:"success"`
	Reason    string    `bun:"reason"`
	CreatedAt time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// Reasons recorded for failed sign-ins.
const (
	ReasonInvalidCredentials = "invalid_credentials"
	ReasonRateLimited        = "rate_limited"
	ReasonDisabled           = "disabled"
	ReasonTwoFactor          = "wrong_2fa_code"
)

const maxUserAgentLength = 512

// RecordLogin appends a sign-in attempt to the history; for a successful one
// it also sets the admin's last_login_at, in the same transaction.
func RecordLogin(ctx context.Context, idb bun.IDB, l Login) error {
	if len(l.UserAgent) > maxUserAgentLength {
		l.UserAgent = l.UserAgent[:maxUserAgentLength]
	}
	if len(l.Email) > maxEmailLength {
		l.Email = l.Email[:maxEmailLength]
	}
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&l).Exec(ctx); err != nil {
			return err
		}
		if l.Success && l.AdminID != nil {
			_, err := tx.NewUpdate().Model((*Admin)(nil)).
				Set("last_login_at = now()").Where("id = ?", *l.AdminID).Exec(ctx)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record admin login for %s: %w", l.Email, err)
	}
	return nil
}

// DeleteLoginsBefore removes sign-in history older than t (retention,
// login_history_retention_days).
func DeleteLoginsBefore(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Login)(nil)).Where("created_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune admin sign-ins: %w", err)
	}
	return res.RowsAffected()
}
