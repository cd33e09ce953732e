package mail

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/errkind"
	"github.com/licensor/licensor/app/listing"
)

// ErrNotFound is returned when no message matches.
var ErrNotFound = errkind.New(errkind.NotFound, "mail message not found")

// Filter narrows the outbox list. Zero fields do not filter.
type Filter struct {
	Status string
	Kind   string
	// Search matches recipient or subject.
	Search string
}

// List returns one page of messages, newest first, without their bodies,
// and the number matching f.
func List(ctx context.Context, idb bun.IDB, f Filter, page listing.Page) ([]Message, int, error) {
	var out []Message
	q := idb.NewSelect().Model(&out).
		ExcludeColumn("html_body", "text_body").
		OrderExpr("mm.created_at DESC, mm.id DESC")
	if f.Status != "" {
		q = q.Where("mm.status = ?", f.Status)
	}
	if f.Kind != "" {
		q = q.Where("mm.kind = ?", f.Kind)
	}
	if f.Search != "" {
		p := listing.Contains(f.Search)
		q = q.Where("(mm.to_address ILIKE ? OR mm.subject ILIKE ?)", p, p)
	}
	total, err := page.Apply(q).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list mail: %w", err)
	}
	return out, int(total), nil
}

// Get returns message id with its bodies.
func Get(ctx context.Context, idb bun.IDB, id int64) (*Message, error) {
	m := new(Message)
	if err := idb.NewSelect().Model(m).Where("mm.id = ?", id).Scan(ctx); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("get mail %d: %w", id, err)
	}
	return m, nil
}

// DeleteBefore removes messages created before t that are no longer
// waiting to be sent (retention, mail_outbox_retention_days).
func DeleteBefore(ctx context.Context, idb bun.IDB, t time.Time) (int64, error) {
	res, err := idb.NewDelete().Model((*Message)(nil)).
		Where("created_at < ?", t).
		Where("status <> ?", StatusQueued).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune mail: %w", err)
	}
	return res.RowsAffected()
}
