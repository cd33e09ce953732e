package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Customer activity types (docs/features.md#customers).
const (
	CustomerLogin              = "login"
	CustomerLicenseActivated   = "license_activated"
	CustomerLicenseDeactivated = "license_deactivated"
	CustomerLicenseVerified    = "license_verified"
	CustomerUpdateDownloaded   = "update_downloaded"
)

// CustomerActivity is one entry of a customer's activity stream.
type CustomerActivity struct {
	bun.BaseModel `bun:"table:customer_activity,alias:ca"`

	ID         int64          `bun:"id,pk,autoincrement"`
	CustomerID int64          `bun:"customer_id"`
	Type       string         `bun:"type"`
	IP         *string        `bun:"ip"`
	Data       map[string]any `bun:"data,type:jsonb"`
	CreatedAt  time.Time      `bun:"created_at,nullzero,notnull,default:current_timestamp"`
}

// RecordCustomer writes one customer activity entry in idb. A zero
// CreatedAt means the database's now().
func RecordCustomer(ctx context.Context, idb bun.IDB, a CustomerActivity) error {
	a.ID = 0
	if _, err := idb.NewInsert().Model(&a).Exec(ctx); err != nil {
		return fmt.Errorf("record customer activity %s: %w", a.Type, err)
	}
	return nil
}

// RecordCustomerWhere writes a's entry (its CustomerID and CreatedAt
// ignored: the database's now()) for the customer of customers AS c that
// cond matches with args, if any, in one statement: a linked license's
// activity needs no read of its customer first. cond must match at most
// one customer.
func RecordCustomerWhere(ctx context.Context, idb bun.IDB, a CustomerActivity, cond string, args ...any) error {
	data, err := json.Marshal(a.Data)
	if err != nil {
		return fmt.Errorf("record customer activity %s: %w", a.Type, err)
	}
	q := "INSERT INTO customer_activity (type, ip, data, customer_id) SELECT ?, ?, ?::jsonb, c.id FROM customers AS c WHERE " + cond
	if _, err := idb.ExecContext(ctx, q, append([]any{a.Type, a.IP, string(data)}, args...)...); err != nil {
		return fmt.Errorf("record customer activity %s: %w", a.Type, err)
	}
	return nil
}

// CustomerActivities returns a customer's newest entries, at most limit.
func CustomerActivities(ctx context.Context, idb bun.IDB, customerID int64, limit int) ([]CustomerActivity, error) {
	var out []CustomerActivity
	err := idb.NewSelect().Model(&out).
		Where("customer_id = ?", customerID).
		OrderExpr("created_at DESC, id DESC").
		Limit(int64(max(limit, 1))).
		Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("list customer activity %d: %w", customerID, err)
	}
	return out, nil
}
