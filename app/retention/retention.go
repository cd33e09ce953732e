// Package retention owns the daily clean-up (docs/features.md#logs-and-retention): every log
// and queue table loses the rows older than its *_retention_days setting —
// activity log, admin and customer sign-in history, failed activation attempts, the
// update-download log, webhook
// deliveries, the mail outbox and River's finished jobs — and the expiry
// scan's notices that can no longer matter. Each table's delete lives in
// the package that owns it; this one reads the settings and calls them.
package retention

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/licensor/licensor/app/admins"
	"github.com/licensor/licensor/app/audit"
	"github.com/licensor/licensor/app/customers"
	"github.com/licensor/licensor/app/downloads"
	"github.com/licensor/licensor/app/expiry"
	"github.com/licensor/licensor/app/licensing"
	"github.com/licensor/licensor/app/mail"
	"github.com/licensor/licensor/app/settings"
	"github.com/licensor/licensor/app/webhooks"
)

// Deleted counts the rows removed per kind, in the order they ran.
type Deleted struct {
	Kind string
	Rows int64
}

// noticeKeep is how long expiry notices are kept past their date: longer
// than the scan's lookback, so a kept notice always stops a repeat.
const noticeKeep = 30 * 24 * time.Hour

// Run deletes what is older than its retention setting at now.
func Run(ctx context.Context, db bun.IDB, now time.Time) ([]Deleted, error) {
	set, err := settings.Load(ctx, db)
	if err != nil {
		return nil, err
	}
	days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	steps := []struct {
		kind string
		run  func() (int64, error)
	}{
		{"activity_log", func() (int64, error) {
			n, err := audit.DeleteBefore(ctx, db, days(set.ActivityLogRetentionDays))
			return int64(n), err
		}},
		{"admin_logins", func() (int64, error) {
			return admins.DeleteLoginsBefore(ctx, db, days(set.LoginHistoryRetentionDays))
		}},
		{"customer_logins", func() (int64, error) {
			return customers.DeleteLoginsBefore(ctx, db, days(set.LoginHistoryRetentionDays))
		}},
		{"failed_activations", func() (int64, error) {
			return licensing.DeleteFailedAttemptsBefore(ctx, db, days(set.FailedAttemptRetentionDays))
		}},
		{"webhook_deliveries", func() (int64, error) {
			return webhooks.DeleteBefore(ctx, db, days(set.WebhookDeliveryRetentionDays))
		}},
		{"mail_messages", func() (int64, error) {
			return mail.DeleteBefore(ctx, db, days(set.MailOutboxRetentionDays))
		}},
		{"finished_jobs", func() (int64, error) {
			return deleteFinishedJobs(ctx, db, days(set.FinishedJobsRetentionDays))
		}},
		{"download_logs", func() (int64, error) {
			return downloads.DeleteBefore(ctx, db, days(set.DownloadLogRetentionDays))
		}},
		{"expiry_notices", func() (int64, error) {
			return expiry.PruneNotices(ctx, db, now.Add(-noticeKeep))
		}},
	}
	out := make([]Deleted, 0, len(steps))
	for _, s := range steps {
		n, err := s.run()
		if err != nil {
			return out, fmt.Errorf("retention %s: %w", s.kind, err)
		}
		out = append(out, Deleted{Kind: s.kind, Rows: n})
	}
	return out, nil
}

// deleteFinishedJobs removes River jobs that completed, were cancelled or
// were discarded (out of attempts) before t. River prunes them on its own
// too (jobs.Options); this applies the setting as it is now, without a
// restart.
func deleteFinishedJobs(ctx context.Context, db bun.IDB, t time.Time) (int64, error) {
	res, err := db.NewDelete().TableExpr("river_job").
		Where("state IN ('completed', 'cancelled', 'discarded')").
		Where("finalized_at < ?", t).
		Exec(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
