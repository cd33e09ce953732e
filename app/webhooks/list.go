package webhooks

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/listing"
)

// Filter narrows the deliveries list. Zero fields do not filter.
type Filter struct {
	Event  string
	Status string
	// Search matches a license code.
	Search string
}

// List returns one page of deliveries, newest first, without their bodies,
// and the number matching f.
func List(ctx context.Context, idb bun.IDB, f Filter, page listing.Page) ([]Delivery, int, error) {
	var out []Delivery
	q := idb.NewSelect().Model(&out).ExcludeColumn("body").OrderExpr("wd.created_at DESC, wd.id")
	if f.Event != "" {
		q = q.Where("wd.event = ?", f.Event)
	}
	if f.Status != "" {
		q = q.Where("wd.status = ?", f.Status)
	}
	if f.Search != "" {
		q = q.Where("wd.license_code ILIKE ?", listing.Contains(f.Search))
	}
	total, err := page.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return out, int(total), nil
}

// Get returns delivery id and its attempts, oldest first.
func Get(ctx context.Context, idb bun.IDB, id string) (*Delivery, []Attempt, error) {
	if uuid.Validate(id) != nil {
		// Ids are UUIDs: anything else names no delivery (and would make
		// PostgreSQL refuse the query).
		return nil, nil, ErrNotFound
	}
	d := new(Delivery)
	if err := idb.NewSelect().Model(d).Where("wd.id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil, ErrNotFound
		}
		return nil, nil, fmt.Errorf("get webhook delivery %s: %w", id, err)
	}
	var attempts []Attempt
	if err := idb.NewSelect().Model(&attempts).Where("wa.delivery_id = ?", id).OrderExpr("wa.attempt, wa.id").Scan(ctx); err != nil {
		return nil, nil, fmt.Errorf("get webhook attempts %s: %w", id, err)
	}
	return d, attempts, nil
}

// DeleteBefore removes deliveries created before t, with their attempts,
// unless still pending (retention, webhook_delivery_retention_days).
func DeleteBefore(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Delivery)(nil)).
		Where("created_at < ?", t).
		Where("status <> ?", StatusPending).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}
