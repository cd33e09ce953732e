package customers

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Reasons a portal sign-in attempt failed, as recorded in the history.
const (
	ReasonInvalidCredentials = "invalid_credentials"
	ReasonUnconfirmed        = "unconfirmed"
	ReasonLockedOut          = "locked_out"
	ReasonCaptcha            = "captcha_failed"
	ReasonTwoFactor          = "wrong_2fa_code"
)

const (
	maxLoginLength     = 254
	maxUserAgentLength = 512
)

// Login is one portal sign-in attempt (docs/features.md#security: time, IP, user
// agent, success, reason). CustomerID is nil when the login matched no
// account.
type Login struct {
	bun.BaseModel `bun:"table:customer_logins,alias:cl"`

	ID         int64     `bun:"id,pk,autoincrement"`
	CustomerID *int64    `bun:"customer_id"`
	Login      string    `bun:"login"`
	IP         string    `bun:"ip"`
	UserAgent  string    `bun:"user_agent"`
	Success    bool      `bun:"success"`
	Reason     string    `bun:"reason"`
	CreatedAt  time.Time `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// RecordLogin adds l to the sign-in history; a successful one also sets the
// customer's last_login_at.
func RecordLogin(ctx context.Context, idb bun.IDB, l Login) error {
	if len(l.UserAgent) > maxUserAgentLength {
		l.UserAgent = l.UserAgent[:maxUserAgentLength]
	}
	if len(l.Login) > maxLoginLength {
		l.Login = l.Login[:maxLoginLength]
	}
	err := idb.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(&l).Exec(ctx); err != nil {
			return err
		}
		if l.Success && l.CustomerID != nil {
			_, err := tx.NewUpdate().Model((*Customer)(nil)).
				Set("last_login_at = now()").Where("id = ?", *l.CustomerID).Exec(ctx)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record customer login for %s: %w", l.Login, err)
	}
	return nil
}

// SeenDevice reports whether customerID signed in successfully from ip or
// with userAgent since since, besides the attempt just recorded. The portal
// sends the new-device alert when it did not.
func SeenDevice(ctx context.Context, idb bun.IDB, customerID int64, ip, userAgent string, since time.Time) (bool, error) {
	n, err := idb.NewSelect().Model((*Login)(nil)).
		Where("customer_id = ? AND success AND created_at >= ?", customerID, since).
		Where("ip = ? AND user_agent = ?", ip, userAgent).
		Count(ctx)
	if err != nil {
		return false, fmt.Errorf("customer sign-in history: %w", err)
	}
	return n > 0, nil
}

// DeleteLoginsBefore removes sign-in history recorded before t (the
// login_history_retention_days clean-up).
func DeleteLoginsBefore(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Login)(nil)).Where("created_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete customer sign-ins: %w", err)
	}
	return res.RowsAffected()
}

// RecentLogins returns the newest limit sign-in attempts on customer id's
// account, newest first (the portal's settings page and the console's
// customer page show them).
func RecentLogins(ctx context.Context, idb bun.IDB, id int64, limit int) ([]Login, error) {
	var out []Login
	if err := idb.NewSelect().Model(&out).Where("customer_id = ?", id).
		OrderExpr("created_at DESC, id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("customer sign-in history: %w", err)
	}
	return out, nil
}
