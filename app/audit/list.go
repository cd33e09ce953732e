package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/listing"
)

// Filter narrows the activity log. Zero fields do not filter.
type Filter struct {
	Types     []string
	ActorType string
	ActorID   *int64
	Subject   *Subject
	// From is inclusive, To exclusive.
	From, To time.Time
	// Search matches the message, case-insensitively.
	Search string
}

// Cursor is the position after which (in newest-first order) a keyset page
// starts: the last row of the previous page.
type Cursor struct {
	CreatedAt time.Time
	ID        int64
}

// listSorts are the fields List sorts by.
var listSorts = listing.Sorts{"created_at": "al.created_at", "type": "al.type", "actor_name": "al.actor_name"}

// List returns one page of entries, newest first unless sort (listing.Order:
// created_at, type, actor_name, "-" for descending) says otherwise, and the
// number of entries matching f. Keyset pages (After) cost the same on page
// 1 and page 10,000; offset pages are for "jump to page N" in the console.
func List(ctx context.Context, idb bun.IDB, f Filter, sort string, page listing.Page) ([]Activity, int, error) {
	var out []Activity
	q := page.Apply(listing.Order(filtered(idb.NewSelect().Model(&out), f), sort, listSorts, "al.created_at", "al.id"))
	total, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("list activity: %w", err)
	}
	return out, int(total), nil
}

// After returns at most limit entries older than c (or the newest when c is
// nil), newest first.
func After(ctx context.Context, idb bun.IDB, f Filter, c *Cursor, limit int) ([]Activity, error) {
	var out []Activity
	q := filtered(idb.NewSelect().Model(&out), f)
	if c != nil {
		q = q.Where("(al.created_at, al.id) < (?, ?)", c.CreatedAt, c.ID)
	}
	limit = listing.Page{PerPage: limit}.Normalize().PerPage
	if err := q.OrderExpr("al.created_at DESC, al.id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("list activity: %w", err)
	}
	return out, nil
}

// Delete removes the entries with the given ids ("delete selected") and,
// when it removed any, records that it did (activity.deleted), so removing
// history leaves a trace. Call it in a transaction.
func Delete(ctx context.Context, idb bun.IDB, by Source, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := idb.NewDelete().Model((*Activity)(nil)).Where("id IN (?)", bun.List(ids)).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("delete activity: %w", err)
	}
	rows, _ := res.RowsAffected()
	n := int(rows)
	if n == 0 {
		return 0, nil
	}
	entries := fmt.Sprintf("%d entries", n)
	if n == 1 {
		entries = "1 entry"
	}
	return n, Record(ctx, idb, Entry{
		Type: "activity.deleted", Actor: by.Actor, IP: by.IP,
		Message: fmt.Sprintf("%s deleted from the activity log %s.", entries, by.Actor.Via()),
		Data:    map[string]any{"count": n},
	})
}

// DeleteBefore removes entries older than t (retention, "logs clear").
func DeleteBefore(ctx context.Context, idb bun.IDB, t time.Time) (int, error) {
	res, err := idb.NewDelete().Model((*Activity)(nil)).Where("created_at < ?", t).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune activity: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

func filtered(q *bun.SelectQuery, f Filter) *bun.SelectQuery {
	if len(f.Types) > 0 {
		q = q.Where("al.type IN (?)", bun.List(f.Types))
	}
	if f.ActorType != "" {
		q = q.Where("al.actor_type = ?", f.ActorType)
	}
	if f.ActorID != nil {
		q = q.Where("al.actor_id = ?", *f.ActorID)
	}
	if f.Subject != nil {
		q = q.Where("al.subject_type = ? AND al.subject_id = ?", f.Subject.Type, f.Subject.ID)
	}
	if !f.From.IsZero() {
		q = q.Where("al.created_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		q = q.Where("al.created_at < ?", f.To)
	}
	if f.Search != "" {
		q = q.Where("al.message ILIKE ?", listing.Contains(f.Search))
	}
	return q
}
